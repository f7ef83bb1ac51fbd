/**
 * The report consumer's alignment bookkeeping against a fake kafkajs client: which partitions count
 * as idle at join, what a rejoin forgets, and which lag a processed batch reports.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import { createReportConsumer, type ReportConsumer } from '../../src/consumers/report-consumer.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { FAKE_EVENTS, fakeKafka, type FakeOffsets } from '../helpers/fake-kafka.ts';

const H = 3_600_000;
const topics = topicNames('t');
const reportTopics = [topics.production, topics.shipments, topics.receipts, topics.inventory];
const allOfPartition0 = Object.fromEntries(reportTopics.map((t) => [t, [0]]));

/** Every record decodes, nothing alerts: only the consumer's own decisions are under test. */
const quietBatchDeps = {
  decoder: { decodeBatch: async (values: unknown[]) => values.map(() => ({ ok: true, value: {} })), decodeReport: async () => ({}) } as never,
  pipeline: { process: async () => [], markPublished: async () => undefined } as never,
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
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberId: 'm', memberAssignment: allOfPartition0 });
    await vi.waitFor(() => expect(fake.offsetRequests.length % reportTopics.length).toBe(0));
    await new Promise((r) => setImmediate(r));
  };
  await join();
  return { fake, join };
}

const records = (...timestamps: number[]) => timestamps.map((timestamp) => ({ key: 'P1', value: '{}', timestamp }));

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
});
