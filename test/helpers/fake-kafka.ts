/**
 * Just enough of a kafkajs client to drive a consumer without a broker: the test emits
 * instrumentation events and calls the eachBatch the consumer registered.
 */
import type { Admin, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';

export const FAKE_EVENTS = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', REBALANCING: 'consumer.rebalancing' } as const;

export interface FakeKafka {
  kafka: Kafka;
  admin: Admin;
  emit(event: string, payload: unknown): void;
  /** Runs the registered eachBatch over these messages; returns the offsets it resolved. */
  deliver(topic: string, partition: number, messages: { key: string | null; value: string | null }[]): Promise<string[]>;
}

export function fakeKafka(): FakeKafka {
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
    fetchOffsets: async () => [],
    fetchTopicOffsets: async () => [],
  } as unknown as Admin;
  return {
    kafka: { consumer: () => consumer, admin: () => admin } as unknown as Kafka,
    admin,
    emit(event, payload) {
      for (const handler of handlers.get(event) ?? []) handler({ payload });
    },
    async deliver(topic, partition, records) {
      if (!eachBatch) throw new Error('the consumer has not called run()');
      const messages = records.map(
        (r, i) => ({ key: r.key === null ? null : Buffer.from(r.key), value: r.value === null ? null : Buffer.from(r.value), offset: String(i), timestamp: String(i), headers: {}, attributes: 0 }) as KafkaMessage,
      );
      const resolved: string[] = [];
      const batch = { topic, partition, highWatermark: String(messages.length), messages, lastOffset: () => String(messages.length - 1), offsetLag: () => '0' };
      await eachBatch({
        batch,
        resolveOffset: (offset: string) => void resolved.push(offset),
        heartbeat: async () => undefined,
        commitOffsetsIfNecessary: async () => undefined,
        isRunning: () => true,
        isStale: () => false,
        pause: () => () => undefined,
      } as unknown as EachBatchPayload);
      return resolved;
    },
  };
}
