/**
 * Just enough of a kafkajs client to drive a consumer without a broker: the test emits
 * instrumentation events and calls the eachBatch the consumer registered.
 */
import type { Admin, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';

export const FAKE_EVENTS = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', REBALANCING: 'consumer.rebalancing' } as const;

export interface FakeRecord {
  key: string | null;
  value: string | null;
  /** Record time; the offset by default. */
  timestamp?: number;
}

export interface FakeBatchOptions {
  /** Default: just past the last record. */
  highWatermark?: number;
  /** What batch.offsetLag() says, e.g. when filtered control records end the batch. */
  offsetLag?: string;
  /** Offset of the first record (default 0), e.g. for the rest of a batch fetched again. */
  firstOffset?: number;
}

/** What the admin client reports, per topic. */
export interface FakeOffsets {
  logs?: Record<string, { partition: number; low: string; high: string }[]>;
  committed?: Record<string, { partition: number; offset: string; metadata?: string }[]>;
}

export interface FakeKafka {
  kafka: Kafka;
  admin: Admin;
  offsets: FakeOffsets;
  /** Topics whose log offsets were asked for, one entry per call. */
  offsetRequests: string[];
  emit(event: string, payload: unknown): void;
  /** Runs the registered eachBatch over these records (offsets from options.firstOffset, 0 by default). */
  deliver(topic: string, partition: number, records: FakeRecord[], options?: FakeBatchOptions): Promise<{ resolved: string[]; paused: boolean }>;
}

export function fakeKafka(offsets: FakeOffsets = {}): FakeKafka {
  const offsetRequests: string[] = [];
  const handlers = new Map<string, ((e: { payload: unknown }) => void)[]>();
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: FAKE_EVENTS,
    on(event: string, handler: (e: { payload: unknown }) => void) {
      handlers.set(event, [...(handlers.get(event) ?? []), handler]);
      return () => undefined;
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async (config: { eachBatch?: (payload: EachBatchPayload) => Promise<void> }) => {
      eachBatch = config.eachBatch;
    },
    disconnect: async () => undefined,
    paused: () => [],
    resume: () => undefined,
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchOffsets: async ({ topics }: { topics: string[] }) => topics.map((topic) => ({ topic, partitions: offsets.committed?.[topic] ?? [] })),
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => ({ topics: topics.map((name) => ({ name, partitions: [] })) }),
    fetchTopicOffsets: async (topic: string) => {
      offsetRequests.push(topic);
      return offsets.logs?.[topic] ?? [];
    },
  } as unknown as Admin;
  return {
    kafka: { consumer: () => consumer, admin: () => admin } as unknown as Kafka,
    admin,
    offsets,
    offsetRequests,
    emit(event, payload) {
      for (const handler of handlers.get(event) ?? []) handler({ payload });
    },
    async deliver(topic, partition, records, options = {}) {
      if (!eachBatch) throw new Error('the consumer has not called run()');
      const messages = records.map(
        (r, i) =>
          ({
            key: r.key === null ? null : Buffer.from(r.key),
            value: r.value === null ? null : Buffer.from(r.value),
            offset: String((options.firstOffset ?? 0) + i),
            timestamp: String(r.timestamp ?? i),
            headers: {},
            attributes: 0,
          }) as KafkaMessage,
      );
      const lastOffset = (options.firstOffset ?? 0) + messages.length - 1;
      const highWatermark = options.highWatermark ?? lastOffset + 1;
      const resolved: string[] = [];
      let paused = false;
      const batch = {
        topic,
        partition,
        highWatermark: String(highWatermark),
        messages,
        lastOffset: () => String(lastOffset),
        offsetLag: () => options.offsetLag ?? String(highWatermark - 1 - lastOffset),
      };
      await eachBatch({
        batch,
        resolveOffset: (offset: string) => void resolved.push(offset),
        heartbeat: async () => undefined,
        commitOffsetsIfNecessary: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
        pause: () => {
          paused = true;
          return () => undefined;
        },
      } as unknown as EachBatchPayload);
      return { resolved, paused };
    },
  };
}
