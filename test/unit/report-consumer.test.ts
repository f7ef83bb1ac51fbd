/**
 * The report consumer's alignment bookkeeping against a fake kafkajs client: which partitions count
 * as idle at join, what a rejoin forgets, and which lag a processed batch reports.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import { createReportConsumer, type ReportConsumer } from '../../src/consumers/report-consumer.ts';
import { InvalidRecordError } from '../../src/errors.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { FAKE_EVENTS, fakeKafka, type FakeOffsets } from '../helpers/fake-kafka.ts';
import { createPublishGate } from '../../src/pipeline/publish-gate.ts';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';

const H = 3_600_000;
const topics = topicNames('t');
const reportTopics = [topics.production, topics.shipments, topics.receipts, topics.inventory];
const allOfPartition0 = Object.fromEntries(reportTopics.map((t) => [t, [0]]));

/**
 * Every record decodes to a report with the occurredAt its value names (a value that is not JSON is
 * a bad record), nothing alerts: only the consumer's own decisions are under test.
 */
let decodedValues = 0;
const fakeDecoder = {
  decodeReports: async (_kind: string, values: (Buffer | null)[]) =>
    values.map((v) => {
      decodedValues += 1;
      try {
        const event = JSON.parse(v!.toString()) as { occurredAt: number };
        return { ok: true, value: { kind: 'shipments', event: { producerId: 'P1', reportedAt: event.occurredAt, ...event } } };
      } catch {
        return { ok: false, error: new InvalidRecordError('REE_ERR_DECODE', 'not JSON') };
      }
    }),
  decodeReport: async () => ({}),
};
const quietBatchDeps = {
  decoder: fakeDecoder as never,
  pipeline: { process: async () => [], fireTimers: async () => [], markPublished: async () => undefined, gate: createPublishGate() } as never,
  alerts: { publish: async () => undefined },
  deadLetters: { send: async () => undefined },
};

/** Shipments is often idle at join only so that its siblings' batches go at once; the fake hands it records all the same. */
const log = (partition: number, low: number, high: number) => ({ partition, low: String(low), high: String(high) });

let consumer: ReportConsumer | undefined;
afterEach(async () => consumer?.stop());

async function joined(offsets: FakeOffsets) {
  const fake = fakeKafka(offsets);
  consumer = createReportConsumer({ kafka: fake.kafka, groupId: 'g', topics, concurrency: 1, logger: createLogger('silent'), ...quietBatchDeps });
  await consumer.start();
  const join = async () => {
    // The join reads every report topic's offsets (a batch may read some more, for the aligner).
    const before = fake.offsetRequests.length;
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberId: 'm', memberAssignment: allOfPartition0 });
    await vi.waitFor(() => expect(fake.offsetRequests.length).toBeGreaterThanOrEqual(before + reportTopics.length));
    await new Promise((r) => setImmediate(r));
  };
  await join();
  return { fake, join };
}

/** Reports made at these times; their record times are all one moment, as in a backlog loaded at once. */
const LOADED_AT = Date.UTC(2026, 0, 1);
const records = (...occurredAts: number[]) => occurredAts.map((occurredAt) => ({ key: 'P1', value: JSON.stringify({ occurredAt }), timestamp: LOADED_AT }));

describe('report consumer alignment', () => {
  it('counts a partition whose committed offset retention has passed as idle, from the log start', async () => {
    const emptied = [log(0, 10, 10)];
    const { fake } = await joined({
      logs: { [topics.production]: emptied, [topics.receipts]: emptied, [topics.inventory]: emptied, [topics.shipments]: [log(0, 0, 3)] },
      committed: { [topics.production]: [{ partition: 0, offset: '5' }], [topics.receipts]: [{ partition: 0, offset: '5' }], [topics.inventory]: [{ partition: 0, offset: '5' }] },
    });
    expect(fake.offsetRequests.sort()).toEqual([...reportTopics].sort());
    const { resolved, paused } = await fake.deliver(topics.shipments, 0, records(1, 2, 3));
    expect({ resolved, paused }).toEqual({ resolved: ['2'], paused: false });
  });

  it('forgets what it knew when the group is joined again, with or without a rebalance event', async () => {
    const offsets: FakeOffsets = { logs: { [topics.production]: [log(0, 0, 1000)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } };
    const { fake, join } = await joined(offsets);
    // Production has 998 records waiting at hour 0, so shipments at hour 100 must wait.
    expect((await fake.deliver(topics.production, 0, records(0, 0), { highWatermark: 1000 })).resolved).toEqual(['1']);
    expect((await fake.deliver(topics.shipments, 0, records(100 * H))).paused).toBe(true);
    // Meanwhile another member read production to its end and the group was joined anew.
    offsets.committed = { [topics.production]: [{ partition: 0, offset: '1000' }] };
    await join();
    expect(await fake.deliver(topics.shipments, 0, records(100 * H))).toEqual({ resolved: ['0'], paused: false });
  });

  it('takes the lag of a fully processed batch from kafkajs, which counts past filtered control records', async () => {
    const { fake } = await joined({ logs: { [topics.production]: [log(0, 0, 3)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } });
    // Offset 2 is a transaction marker: nothing is left to read after this batch.
    expect((await fake.deliver(topics.production, 0, records(0, 0), { highWatermark: 3, offsetLag: '0' })).resolved).toEqual(['1']);
    expect((await fake.deliver(topics.shipments, 0, records(100 * H))).paused).toBe(false);
  });

  it('cuts a batch at the first record beyond the limit, not at the last', async () => {
    const { fake } = await joined({ logs: { [topics.production]: [log(0, 0, 1000)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } });
    expect((await fake.deliver(topics.production, 0, records(10 * H, 10 * H), { highWatermark: 1000 })).resolved).toEqual(['1']);
    const { resolved, paused } = await fake.deliver(topics.shipments, 0, records(11 * H, 12 * H, 30 * H, 13 * H, 14 * H));
    expect({ resolved, paused }).toEqual({ resolved: ['1'], paused: true });
  });

  it("aligns on the reports' own times, whatever the record times say", async () => {
    const { fake } = await joined({ logs: { [topics.production]: [log(0, 0, 1000)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } });
    expect((await fake.deliver(topics.production, 0, records(10 * H, 10 * H), { highWatermark: 1000 })).resolved).toEqual(['1']);
    // Stamped long before the production, made long after it: the report time decides, so it waits.
    const late = [{ key: 'P1', value: JSON.stringify({ occurredAt: 100 * H }), timestamp: 0 }];
    expect(await fake.deliver(topics.shipments, 0, late)).toEqual({ resolved: [], paused: true });
  });

  it('lets a bad record, which has no report time, go with the reports before it', async () => {
    const { fake } = await joined({ logs: { [topics.production]: [log(0, 0, 1000)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } });
    expect((await fake.deliver(topics.production, 0, records(10 * H), { highWatermark: 1000 })).resolved).toEqual(['0']);
    const batch = [...records(11 * H), { key: 'P1', value: 'not json', timestamp: LOADED_AT }, ...records(30 * H)];
    expect(await fake.deliver(topics.shipments, 0, batch)).toEqual({ resolved: ['1'], paused: true });
  });

  it('decodes the records of a held batch once, however often the batch is fetched again', async () => {
    const { fake } = await joined({ logs: { [topics.production]: [log(0, 0, 1000)], [topics.shipments]: [log(0, 0, 0)], [topics.receipts]: [log(0, 0, 0)], [topics.inventory]: [log(0, 0, 0)] } });
    expect((await fake.deliver(topics.production, 0, records(10 * H), { highWatermark: 1000 })).resolved).toEqual(['0']);
    decodedValues = 0;
    const held = records(11 * H, 12 * H, 30 * H, 31 * H);
    expect(await fake.deliver(topics.shipments, 0, held)).toEqual({ resolved: ['1'], paused: true });
    expect(decodedValues).toBe(4);
    // kafkajs fetches the rest again from the first record not taken, with more behind it. Still held:
    // its first record (decoded already) decides that, and nothing behind it is decoded yet.
    await fake.deliver(topics.shipments, 0, [...held.slice(2), ...records(32 * H)], { firstOffset: 2 });
    expect(decodedValues).toBe(4);
  });
});

describe('report consumer: idle partitions after a batch (transactional output)', () => {
  /** A consumer with transactional output whose transactions just run their work; what the idle passes are asked is kept. */
  async function transactionalConsumer(concurrency: number) {
    // Only production has records, so its batch is not held for its siblings.
    const fake = fakeKafka({ logs: Object.fromEntries(reportTopics.map((t) => [t, [log(0, 0, t === topics.production ? 1 : 0)]])) });
    const looks: { partitions: readonly number[]; known: number | undefined }[] = [];
    const sender = { send: async () => [] };
    consumer = createReportConsumer({
      kafka: fake.kafka,
      groupId: 'g',
      topics,
      concurrency,
      logger: createLogger('silent'),
      ...quietBatchDeps,
      pipeline: { process: async () => [], fireTimers: async () => [], markPublished: async () => undefined, watermark: () => 42 * H, gate: createPublishGate() } as never,
      transactional: {
        transactions: {
          assign: async () => undefined,
          within: async (_position: unknown, work: (s: unknown) => Promise<unknown>) => work(sender),
          committed: new CommittedOffsets(),
          unsettled: () => false,
        } as never,
        sinks: () => ({ alerts: { publish: async () => undefined }, deadLetters: { send: async () => undefined } }),
      },
      idleTimersDue: async (partitions, _again, known) => {
        looks.push({ partitions, known });
        return [];
      },
    });
    await consumer.start();
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberId: 'm', memberAssignment: allOfPartition0 });
    await vi.waitFor(() => expect(fake.offsetRequests.length).toBe(reportTopics.length));
    await new Promise((r) => setImmediate(r));
    expect((await fake.deliver(topics.production, 0, records(H))).resolved).toEqual(['0']);
    // Whatever round the batch asked for has looked by now.
    for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    return looks;
  }

  it('at concurrency 1 asks for no round: the batch fired every owned partition at the watermark it read', async () => {
    const looks = await transactionalConsumer(1);
    // (The slow tick, every 2 s, would look; this test is over long before it.)
    expect(looks).toEqual([]);
  });

  it('with batches at once asks for a round with the watermark the batch read back, so the round need not read it', async () => {
    const looks = await transactionalConsumer(2);
    expect(looks).toContainEqual({ partitions: [0], known: 42 * H });
  });
});
