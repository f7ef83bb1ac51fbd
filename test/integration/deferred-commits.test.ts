/**
 * REE_COMMIT_INTERVAL_MS (report-consumer.ts, output-transactions.ts): a pass whose transaction
 * would send nothing commits nothing, and its offsets are committed by the partition index's next
 * transaction, by a pass of their own once the interval has run, or when the detector stops. Here
 * every report is clean (a recycler's output: no rule finds anything, and every report shares one
 * event time, so no timer comes due), so no pass sends anything and only those three commit.
 */
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import type { ProductionReport } from '../../src/domain/events.ts';
import type { RecordingLine } from '../../src/pipeline/recording.ts';
import { writeLinesToKafka } from '../../src/producers/recording-writer.ts';
import { committedReportCount, reportsCommitted } from '../helpers/consumed.ts';
import { DetectorFixtures, stopGently, type DetectorProcess } from '../helpers/detector-process.ts';
import { REDIS_URL, testKafka, waitUntil } from '../helpers/stack-env.ts';

const PARTITIONS = 3;
/** One report each, so a producer's saved state says its one report has been applied. */
const PRODUCERS = 24;
const kafka = testKafka('ree-deferred-commits');
const redis = new Redis(REDIS_URL);
const fixtures = new DetectorFixtures(kafka);

afterAll(async () => {
  await fixtures.cleanUp();
  redis.disconnect();
});

const AT = Date.UTC(2025, 5, 2);

/** Fresh topics with one clean production report from each of PRODUCERS producers. */
async function cleanReports(name: string): Promise<string> {
  const prefix = await fixtures.topics(name, PARTITIONS);
  const lines: RecordingLine[] = [];
  for (let i = 0; i < PRODUCERS; i += 1) {
    const producerId = `P-DEFER-${i}`;
    const report: ProductionReport = { reportId: `defer-${i}`, producerId, facilityId: null, stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 100, inputs: [], occurredAt: AT, reportedAt: AT + 60_000 };
    lines.push({ topic: topicNames(prefix).production, key: producerId, timestamp: AT, value: report });
  }
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await writeLinesToKafka(lines, { producer, topics: topicNames(prefix), format: 'json' });
  await producer.disconnect();
  return prefix;
}

function start(prefix: string, commitIntervalMs: number): DetectorProcess {
  return fixtures.start(prefix, { sessionTimeoutMs: 6_000, partitions: PARTITIONS, env: { REE_COMMIT_INTERVAL_MS: String(commitIntervalMs) } });
}

/** Every producer's state saved (engine README, "Redis layout"): every report's pass has run, whatever it committed. */
async function everyProducerSaved(prefix: string): Promise<boolean> {
  const saved = await Promise.all(Array.from({ length: PRODUCERS }, (_, i) => redis.hget(`${prefix}:{P-DEFER-${i}}:state`, 'clock')));
  return saved.every((clock) => clock !== null);
}

const committedCount = (prefix: string) => committedReportCount(kafka, prefix);

describe('passes that send nothing, with REE_COMMIT_INTERVAL_MS', () => {
  it('commit nothing while the interval runs, and the clean stop commits every offset they left', async () => {
    const prefix = await cleanReports('ree-defer-stop');
    const d = start(prefix, 600_000);
    await waitUntil(() => everyProducerSaved(prefix), { timeoutMs: 60_000, intervalMs: 200, what: 'every report applied' });
    // Ten minutes to go: nothing has committed them, and a look a little later finds the same.
    expect(await committedCount(prefix)).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    expect(await committedCount(prefix)).toBe(0);
    await stopGently(d);
    expect(await committedCount(prefix)).toBe(PRODUCERS);
    expect(await reportsCommitted(kafka, prefix)).toBe(true);
  }, 120_000);

  it('are committed within the interval while the detector runs, with no alert and no stop to carry them', async () => {
    const prefix = await cleanReports('ree-defer-flush');
    const d = start(prefix, 1_000);
    await waitUntil(() => everyProducerSaved(prefix), { timeoutMs: 60_000, intervalMs: 200, what: 'every report applied' });
    await waitUntil(() => reportsCommitted(kafka, prefix), { timeoutMs: 30_000, intervalMs: 250, what: 'the deferred offsets committed' });
    expect(await committedCount(prefix)).toBe(PRODUCERS);
    await stopGently(d);
  }, 120_000);
});
