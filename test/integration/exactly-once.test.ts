/**
 * Exactly-once output (DESIGN.md, "Semantics"): detectors killed with SIGKILL at random moments
 * while they consume a simulated backlog, then a clean finish. A read_committed reader of the
 * alerts topic must see exactly the alerts an embedded replay of the same topics raises: every
 * alert id, at its final revision, none missing, none extra, and no (alert id, revision) twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Partitioners } from 'kafkajs';
import { afterAll, describe, expect, it } from 'vitest';
import { startDetector } from '../../src/cli/run.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';
import { topicKindOf } from '../../src/pipeline/recording.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { writeLinesToKafka } from '../../src/producers/recording-writer.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { committedReportCount, reportsCommitted as reportsCommittedOf } from '../helpers/consumed.ts';
import { committedAlerts, finalRevisions, replayedAlerts, seenTwice } from '../helpers/eos-alerts.ts';
import { DetectorFixtures, killHard, stopGently, type DetectorProcess } from '../helpers/detector-process.ts';
import { KAFKA_BROKERS, REDIS_URL, testKafka, waitUntil } from '../helpers/stack-env.ts';

const PARTITIONS = 3;
/** Short, so a killed member's partitions move on within seconds. */
const SESSION_TIMEOUT_MS = 6_000;

const kafka = testKafka('ree-exactly-once');
const dir = mkdtempSync(join(tmpdir(), 'ree-eos-'));
const fixtures = new DetectorFixtures(kafka);

afterAll(async () => {
  await fixtures.cleanUp();
  rmSync(dir, { recursive: true, force: true });
});

type SimLine = ReturnType<typeof simulate>['records'][number];

/** Fresh topics holding the whole simulated backlog (reference data and reports) before any detector starts. */
async function backlog(name: string, seed: number, lines?: readonly SimLine[]): Promise<string> {
  const prefix = await fixtures.topics(name, PARTITIONS);
  await write(prefix, lines ?? simulate({ seed, producers: 16, days: 30, anomalyRate: 0.08 }).records);
  return prefix;
}

async function write(prefix: string, lines: readonly SimLine[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await writeLinesToKafka(lines, { producer, topics: topicNames(prefix), format: 'json' });
  await producer.disconnect();
}

/** The partition a record keyed `key` lands on (kafkajs's default partitioner, as writeLinesToKafka's producer). */
const partitionOfKey = (() => {
  const partitioner = Partitioners.DefaultPartitioner();
  const partitionMetadata = Array.from({ length: PARTITIONS }, (_, p) => ({ partitionId: p, leader: 0, partitionErrorCode: 0, replicas: [0], isr: [0] }));
  return (key: string) => partitioner({ topic: 'any', partitionMetadata, message: { key, value: null } });
})();

function start(prefix: string): DetectorProcess {
  return fixtures.start(prefix, { sessionTimeoutMs: SESSION_TIMEOUT_MS, partitions: PARTITIONS });
}

/** How many report records the group has committed past, over every report topic-partition. */
const committedCount = (prefix: string) => committedReportCount(kafka, prefix);

/** Whether the group has committed anything on the report topics yet: the detector is mid-stream. */
const someReportsCommitted = async (prefix: string) => (await committedCount(prefix)) > 0;

const reportsCommitted = (prefix: string) => reportsCommittedOf(kafka, prefix);

async function expectExactlyOnce(prefix: string): Promise<void> {
  const [live, replay] = [await committedAlerts(kafka, prefix), await replayedAlerts(dir, prefix)];
  expect(replay.length).toBeGreaterThan(10);
  expect(seenTwice(live)).toEqual([]);
  expect(finalRevisions(live)).toEqual(finalRevisions(replay));
}

/** A random moment in [minMs, maxMs): kills land at different points of start-up and of batches. */
const someMoment = (minMs: number, maxMs: number) => minMs + Math.floor(Math.random() * (maxMs - minMs));

describe('exactly-once output to read_committed subscribers', () => {
  it('a detector killed with SIGKILL at random moments, then finishing cleanly, publishes each alert exactly once', async () => {
    const prefix = await backlog('ree-eos-kill', 31);
    const moments: number[] = [];
    let midStream = 0;
    for (let round = 0; round < 4; round += 1) {
      const d = start(prefix);
      if (round === 0) {
        // The first kill lands as soon as the first batch is committed, whatever the machine's
        // speed, so at least one crash is mid-stream (a fixed delay missed it on a quiet machine).
        const began = Date.now();
        await waitUntil(() => someReportsCommitted(prefix), { timeoutMs: 60_000, intervalMs: 25, what: 'a first batch committed' });
        moments.push(Date.now() - began);
      } else {
        // Start-up (topics, reference data, the group join after the last one's session) takes a
        // few seconds; the later kills land before, during and between batches.
        const at = someMoment(SESSION_TIMEOUT_MS / 2, SESSION_TIMEOUT_MS * 2);
        moments.push(at);
        await sleep(at);
      }
      const done = await reportsCommitted(prefix);
      await killHard(d);
      if (done) break;
      midStream += 1;
    }
    // Otherwise the test would show nothing about crashes.
    expect(midStream).toBeGreaterThan(0);
    const last = start(prefix);
    await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 90_000, intervalMs: 500, what: `reports committed after kills at ${moments.join(', ')} ms` });
    await stopGently(last);
    await expectExactlyOnce(prefix);
  }, 240_000);

  // At 1 the other partitions' batches fire partition 0's timers in their own transactions; above 1
  // (3 here; the default, 2, runs in the other cases) a timer pass of partition 0's own does.
  it.each(['1', '3'])('at REE_CONCURRENCY %s, a partition that gets no more reports fires the timers the other partitions\' last reports pass, each alert exactly once', async (concurrency) => {
    // Every report up to ten days before the end is loaded first; then partition 0's last ten
    // days; then the other partitions' last ten days. Only these last loads move the watermark past
    // partition 0's timers of those days (here a volume-spike and a split-shipments finding, whose
    // exports are judged once settled), and partition 0 gets no batch to fire them in. The last
    // days go one day at a time, as they would come live: ten days at once let a partition's
    // topics run days apart once they had been caught up, which is the aligner's matter, not this.
    const sim = simulate({ seed: 44, producers: 12, days: 24, anomalyRate: 0.1 });
    const reportTime = (l: SimLine) => ((REPORT_TOPIC_KINDS as readonly string[]).includes(topicKindOf(l.topic) ?? '') ? (l.value as { occurredAt: number }).occurredAt : -Infinity);
    const DAY = 86_400_000;
    const cut = Math.max(...sim.records.map(reportTime)) - 10 * DAY;
    const onIdle = (l: SimLine) => partitionOfKey(l.key!) === 0;
    const day = (d: number, idle: boolean) => (l: SimLine) => reportTime(l) > cut + d * DAY && reportTime(l) <= cut + (d + 1) * DAY && onIdle(l) === idle;
    const loads = [true, false].flatMap((idle) => Array.from({ length: 10 }, (_, d) => day(d, idle)));
    const prefix = await backlog('ree-eos-idle', 44, sim.records.filter((l) => reportTime(l) <= cut));
    const settings = loadSettings(
      { KAFKA_BROKERS, REDIS_URL, REE_CONCURRENCY: concurrency },
      { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', registry: 'none', 'alert-format': 'json', partitions: String(PARTITIONS), 'log-level': 'error' },
    );
    const detector = await startDetector(settings, createLogger('error'));
    try {
      for (const load of loads) {
        await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 120_000, intervalMs: 500, what: 'the previous load committed' });
        await write(prefix, sim.records.filter(load));
      }
      await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 120_000, intervalMs: 500, what: 'the last load committed' });
    } finally {
      // Stopping lets the timer passes the last batches asked for finish.
      await detector.stop();
    }
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('a detector paused (SIGSTOP) past its session while another takes over, then resumed: its late commits are fenced and each alert goes out exactly once', async () => {
    const prefix = await backlog('ree-eos-zombie', 31);
    const zombie = start(prefix);
    await waitUntil(() => someReportsCommitted(prefix), { timeoutMs: 60_000, intervalMs: 25, what: 'a first batch committed' });
    // Mid-stream, most likely mid-batch: its state save or its transaction is left half done.
    zombie.child.kill('SIGSTOP');
    const pausedAt = await committedCount(prefix);
    const successor = start(prefix);
    // The successor owns every partition once the paused member's session has run out, renews the
    // ownership epoch and opens the transactional ids the zombie's producers use (bumping their
    // epoch), and moves the group's offsets on.
    await waitUntil(async () => (await committedCount(prefix)) > pausedAt, { timeoutMs: 90_000, intervalMs: 250, what: 'the successor committing past the zombie' });
    zombie.child.kill('SIGCONT');
    await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 120_000, intervalMs: 500, what: 'reports committed after the zombie woke' });
    await Promise.all([stopGently(successor), stopGently(zombie)]);
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('two instances in one group, one killed mid-stream: the other takes its partitions over and each alert goes out exactly once', async () => {
    const prefix = await backlog('ree-eos-rebalance', 37);
    const survivor = start(prefix);
    const victim = start(prefix);
    await sleep(someMoment(SESSION_TIMEOUT_MS / 2, SESSION_TIMEOUT_MS * 1.5));
    await killHard(victim);
    await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 90_000, intervalMs: 500, what: 'reports committed by the survivor' });
    await stopGently(survivor);
    await expectExactlyOnce(prefix);
  }, 240_000);
});
