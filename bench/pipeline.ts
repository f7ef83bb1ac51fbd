/**
 * bench:pipeline — the live detector's throughput against the real broker and Redis, beside a
 * plain kafkajs consumer that only JSON.parses the same topics in the same run (the ratio is the
 * figure), the batch sizes the detector saw, and the latency from report to alert on a stream
 * offered at a steady rate once the detector has caught up.
 *
 *   npm run bench:pipeline -- [--events 200000] [--producers 1000] [--paced 25000] [--rate 5000]
 */
import { fork } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { Admin } from 'kafkajs';
import { Redis } from 'ioredis';
import { quantileSorted } from 'simple-statistics';
import { loadSettings } from '../src/config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs, type TopicNames } from '../src/config/topics.ts';
import { ensureTopics } from '../src/kafka/admin.ts';
import { startDetector } from '../src/cli/run.ts';
import { BATCH_DONE, BATCH_HELD, INDEX_BATCHES_DONE, JOIN_TO_FIRST_BATCH } from '../src/consumers/report-consumer.ts';
import { printTable, saveResults } from './report.ts';
import type { PacedClientArgs, PacedClientResult } from './paced-client.ts';
import { lastReportedAt, topicMessagesOf } from './pipeline-reports.ts';
import { startEosFloor } from './eos-floor.ts';
import { quietKafkaClient } from '../src/kafka/client.ts';
import { deleteNamespace } from '../src/state/redis-namespace.ts';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '200000' },
    producers: { type: 'string', default: '1000' },
    paced: { type: 'string', default: '25000' },
    rate: { type: 'string', default: '5000' },
    'skip-floor': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench:pipeline -- [--events 200000] [--producers 1000] [--paced 25000] [--rate 5000] [--skip-floor]

Produces --events reports to fresh topics on the local stack, reads them with a plain kafkajs
consumer (JSON.parse only) and with the detector (Redis state, rules, alerts), and prints events/s
of both and the detector's batch sizes; then offers --paced reports at --rate per second and
prints report-to-alert latency (p50, p99).
Before the detector, the same two phases run on the exactly-once floor (eos-floor.ts): the
detector's own Kafka layer (a transaction per partition index per fetch, committed only when it
outputs something or the commit interval has run) with a JSON.parse and no state, rules or Redis,
which the detector pays too; --skip-floor leaves it out.
The detector's settings come from the environment as for 'run' (REE_CONCURRENCY,
REE_COMMIT_INTERVAL_MS, ...); the floor follows REE_COMMIT_INTERVAL_MS too.
Needs 'npm run stack:up'. Results are saved to bench/results/pipeline.json.`);
  process.exit(0);
}
const N = Number(values.events);
const SKIP_FLOOR = values['skip-floor'] === true;
/** How long the floor's backlog phase may take before the bench gives up on it (a floor that stalled). */
const FLOOR_TIMEOUT_MS = 300_000;
const PRODUCERS = Number(values.producers);
const PACED = Number(values.paced);
const RATE = Number(values.rate);
if (lastReportedAt(PRODUCERS, N + PACED) > Date.now()) {
  console.error(
    `--events ${N} and --paced ${PACED} for ${PRODUCERS} producers date the last reports ${new Date(lastReportedAt(PRODUCERS, N + PACED)).toISOString().slice(0, 10)}, after today: the detector would dead-letter them (reported after it read them); give more --producers or fewer events`,
  );
  process.exit(2);
}

const env = loadSettings(process.env);
const prefix = `ree-bench-${Date.now().toString(36)}`;
const topics = topicNames(prefix);
const kafka = quietKafkaClient('ree-bench', env.kafkaBrokers);
async function produceAll(to: TopicNames, count: number, start: number) {
  const producer = kafka.producer();
  await producer.connect();
  const chunk = 5000;
  for (let i = 0; i < count; i += chunk) {
    await producer.sendBatch({ topicMessages: topicMessagesOf(to, PRODUCERS, start + i, start + Math.min(count, i + chunk)), acks: -1 });
  }
  await producer.disconnect();
}

/** A plain kafkajs consumer that JSON.parses every value: the least any consumer of these topics does. */
async function plainConsumer(expected: number): Promise<number> {
  const consumer = kafka.consumer({ groupId: `${prefix}-plain` });
  await consumer.connect();
  await consumer.subscribe({ topics: REPORT_TOPIC_KINDS.map((k) => topics[k]), fromBeginning: true });
  let seen = 0;
  const started = performance.now();
  await new Promise<void>((resolve) => {
    void consumer.run({
      eachBatch: async ({ batch }) => {
        for (const m of batch.messages) if (JSON.parse(m.value!.toString()) === null) throw new Error('null report');
        seen += batch.messages.length;
        if (seen >= expected) resolve();
      },
    });
  });
  const seconds = (performance.now() - started) / 1000;
  await consumer.disconnect();
  return seconds;
}

/** Offsets the group has committed over the report topics: one request per poll on a connected admin, so polling does not load the broker the detector is using. */
async function committed(admin: Admin, groupId: string): Promise<number> {
  let total = 0;
  for (const t of await admin.fetchOffsets({ groupId, topics: REPORT_TOPIC_KINDS.map((k) => topics[k]) })) {
    for (const p of t.partitions) total += Math.max(0, Number(p.offset));
  }
  return total;
}

/** What the detector's debug lines say about its batches: records taken per topic-partition batch and per transaction (an index's batches of a fetch), and batches held whole. */
interface BatchLog {
  taken: number[];
  held: number;
  /** Records per pass (an index's batches of a fetch, in one transaction). */
  passes: number[];
  /** Passes whose transaction committed (the others sent nothing and deferred their offsets: REE_COMMIT_INTERVAL_MS). */
  commits: number;
  /** Per pass: ms its batches waited for a turn, and ms the pass and its transaction took. */
  turnWaitMs: number[];
  passMs: number[];
}

/**
 * The detector's logger: warnings and errors to stderr as usual; the info line that says how long
 * the report consumer's group join kept the first batch waiting, and the debug line of every batch
 * (one per batch, not per record), kept for the results.
 */
function benchLogger(onJoinToFirstBatch: (ms: number) => void, batches: BatchLog) {
  const lines = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) {
        if (!line) continue;
        const entry = JSON.parse(line) as { level: number; msg: string; ms?: number; records?: number; turnWaitMs?: number; passMs?: number; committed?: boolean };
        if (entry.msg === JOIN_TO_FIRST_BATCH && entry.ms !== undefined) onJoinToFirstBatch(entry.ms);
        if (entry.msg === BATCH_DONE && entry.records !== undefined) batches.taken.push(entry.records);
        if (entry.msg === BATCH_HELD) batches.held += 1;
        if (entry.msg === INDEX_BATCHES_DONE && entry.records !== undefined) {
          batches.passes.push(entry.records);
          if (entry.committed !== false) batches.commits += 1;
          if (entry.turnWaitMs !== undefined) batches.turnWaitMs.push(entry.turnWaitMs);
          if (entry.passMs !== undefined) batches.passMs.push(entry.passMs);
        }
        if (entry.level >= 40) process.stderr.write(`${line}\n`);
      }
      done();
    },
  });
  return pino({ level: 'debug' }, lines);
}

function batchFigures(batches: BatchLog) {
  const sorted = [...batches.taken].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / Math.max(1, sorted.length);
  const perPass = batches.passes.reduce((a, b) => a + b, 0) / Math.max(1, batches.passes.length);
  const median = (values: number[]) => (values.length ? quantileSorted([...values].sort((a, b) => a - b), 0.5) : NaN);
  return {
    batches: sorted.length,
    heldWhole: batches.held,
    meanRecords: Math.round(mean),
    p50Records: sorted.length ? quantileSorted(sorted, 0.5) : NaN,
    maxRecords: sorted.at(-1) ?? NaN,
    passes: batches.passes.length,
    recordsPerPass: Math.round(perPass),
    commits: batches.commits,
    p50TurnWaitMs: median(batches.turnWaitMs),
    p50PassMs: median(batches.passMs),
  };
}

/**
 * The paced phase in a child process (paced-client.ts): it offers reports N.. at `rate` per second
 * and reads the alerts, as producers and readers outside the detector do. Resolves with its
 * figures and this process's CPU (the detector's) from its first report to its last alert.
 */
function pacedInChild(args: PacedClientArgs): Promise<PacedClientResult & { detectorCpuUs: number }> {
  const child = fork(fileURLToPath(new URL('./paced-client.ts', import.meta.url)), [JSON.stringify(args)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let cpuStarted: NodeJS.CpuUsage | undefined;
  return new Promise((resolve, reject) => {
    child.on('message', (m: { type: 'offering' } | PacedClientResult) => {
      if (m.type === 'offering') cpuStarted = process.cpuUsage();
      else resolve({ ...m, detectorCpuUs: cpuMicros(process.cpuUsage(cpuStarted)) });
    });
    child.on('error', reject);
    child.on('exit', (code) => reject(new Error(`paced client exited with ${code} before its result`)));
  });
}

const cpuMicros = (u: NodeJS.CpuUsage): number => u.user + u.system;

/**
 * The exactly-once floor's two phases (eos-floor.ts), on topics of its own: the same N reports
 * read from the start, then the same paced stream, read back by the same paced client.
 */
async function floorPhases(admin: Admin) {
  const floorPrefix = `${prefix}-floor`;
  const floorTopics = topicNames(floorPrefix);
  await ensureTopics(admin, topicSpecs(floorPrefix, { partitions: 6 }));
  await produceAll(floorTopics, N, 0);
  console.error('exactly-once floor ...');
  const groupId = `${floorPrefix}-group`;
  const started = performance.now();
  const cpuStarted = process.cpuUsage();
  const floor = await startEosFloor({ kafka, groupId, inputTopics: REPORT_TOPIC_KINDS.map((k) => floorTopics[k]), outputTopic: floorTopics.alerts, commitIntervalMs: env.commitIntervalMs });
  let seconds: number;
  let throughputUsPerReport: number;
  let paced: Awaited<ReturnType<typeof pacedInChild>>;
  try {
    await floor.until(N, FLOOR_TIMEOUT_MS);
    seconds = (performance.now() - started) / 1000;
    throughputUsPerReport = cpuMicros(process.cpuUsage(cpuStarted)) / N;
    console.error(`exactly-once floor: ${PACED} reports offered at ${RATE}/s ...`);
    paced = await pacedInChild({ brokers: env.kafkaBrokers, topics: floorTopics, groupId: `${floorPrefix}-outputs`, producers: PRODUCERS, first: N, count: PACED, rate: RATE });
  } finally {
    await floor.stop();
    // Gone before the detector's phases, and even if the floor failed.
    await admin.deleteTopics({ topics: Object.values(floorTopics) }).catch(() => undefined);
  }
  const sorted = [...paced.latencies].sort((a, b) => a - b);
  const at = (q: number) => (sorted.length ? quantileSorted(sorted, q) : NaN);
  return {
    seconds,
    throughputUsPerReport,
    latency: { offeredRate: paced.offeredRate, outputs: sorted.length, expected: paced.expectedAlerts, p50: at(0.5), p99: at(0.99), usPerReport: paced.detectorCpuUs / PACED },
  };
}

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(prefix, { partitions: 6 }));
  console.error(`producing ${N} reports for ${PRODUCERS} producers to ${prefix}.* ...`);
  await produceAll(topics, N, 0);

  console.error('plain kafkajs consumer ...');
  const plainSeconds = await plainConsumer(N);

  const floor = SKIP_FLOOR ? undefined : await floorPhases(admin);

  console.error('detector ...');
  const settings = loadSettings(process.env, { prefix, group: `${prefix}-detector`, 'state-prefix': prefix, 'http-port': '0', 'alert-format': 'json', 'log-level': 'warn' });
  const started = performance.now();
  // CPU of this process (the detector, and the bench's own polling; the paced phase's producer and
  // alert reader are a child's): on a shared machine wall time is mostly waiting for a core, CPU is not.
  const cpuStarted = process.cpuUsage();
  let joinToFirstBatchMs = NaN;
  const batches: BatchLog = { taken: [], held: 0, passes: [], commits: 0, turnWaitMs: [], passMs: [] };
  const detector = await startDetector(settings, benchLogger((ms) => (joinToFirstBatchMs = ms), batches));
  while ((await committed(admin, settings.groupId)) < N) await new Promise((r) => setTimeout(r, 100));
  const detectorSeconds = (performance.now() - started) / 1000;
  const detectorCpuUs = cpuMicros(process.cpuUsage(cpuStarted));
  const throughputBatches = batchFigures(batches);
  batches.taken = [];
  batches.held = 0;
  batches.passes = [];
  batches.commits = 0;
  batches.turnWaitMs = [];
  batches.passMs = [];

  // Latency: the detector is caught up; a paced stream of reports, every 50th an alert, offered
  // and read from another process.
  console.error(`latency: ${PACED} reports offered at ${RATE}/s ...`);
  const paced = await pacedInChild({ brokers: env.kafkaBrokers, topics, groupId: `${prefix}-alerts`, producers: PRODUCERS, first: N, count: PACED, rate: RATE });
  const { offeredRate, expectedAlerts, latencies } = paced;
  const pacedCpuUs = paced.detectorCpuUs;
  const pacedBatches = batchFigures(batches);
  await detector.stop();
  await admin.deleteTopics({ topics: Object.values(topics) }).catch(() => undefined);
  await admin.disconnect();
  // The detector's state under the bench's prefix (~32 k keys a run) goes too, or every run leaves it in Redis.
  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3 });
  try {
    console.error(`deleted ${await deleteNamespace(redis, prefix)} Redis keys under ${prefix}:`);
  } finally {
    redis.disconnect();
  }

  latencies.sort((a, b) => a - b);
  const rows = [
    { consumer: 'plain kafkajs + JSON.parse', events: N, seconds: plainSeconds, 'events/s': N / plainSeconds },
    ...(floor ? [{ consumer: 'exactly-once floor (parse, output, txn per batch)', events: N, seconds: floor.seconds, 'events/s': N / floor.seconds }] : []),
    { consumer: 'ree-sentinel run (Redis state, rules, alerts)', events: N, seconds: detectorSeconds, 'events/s': N / detectorSeconds },
  ];
  printTable(rows);
  console.log('\ndetector batches (records taken per topic-partition batch; held = batches held whole by the aligner; passes = passes over the batches one fetch brought for a partition index, each a transaction; commits = those that committed, the others having sent nothing and left their offsets to a later one (REE_COMMIT_INTERVAL_MS); turn wait = ms a pass waited for a turn under REE_CONCURRENCY, pass = ms of the pass and its transaction):');
  printTable([
    { phase: 'throughput', ...throughputBatches },
    { phase: 'paced', ...pacedBatches },
  ]);
  const ratio = plainSeconds / detectorSeconds;
  console.log(`\nREE_CONCURRENCY ${settings.concurrency}, REE_COMMIT_INTERVAL_MS ${settings.commitIntervalMs}`);
  const p50 = latencies.length ? quantileSorted(latencies, 0.5) : NaN;
  const p99 = latencies.length ? quantileSorted(latencies, 0.99) : NaN;
  console.log(`\ndetector / plain throughput ratio: ${ratio.toFixed(2)}`);
  console.log(`join → first batch: ${joinToFirstBatchMs} ms`);
  const cpu = { throughputSeconds: detectorCpuUs / 1e6, throughputUsPerReport: detectorCpuUs / N, pacedSeconds: pacedCpuUs / 1e6, pacedUsPerReport: pacedCpuUs / PACED, pacedClientSeconds: paced.cpuUs / 1e6 };
  console.log(
    `process CPU: throughput phase ${cpu.throughputSeconds.toFixed(1)} s (${cpu.throughputUsPerReport.toFixed(0)} µs per report), paced phase ${cpu.pacedSeconds.toFixed(1)} s (${cpu.pacedUsPerReport.toFixed(0)} µs per report; the paced client's own ${cpu.pacedClientSeconds.toFixed(1)} s)`,
  );
  console.log(`report → alert latency at ${RATE}/s asked (${offeredRate.toFixed(0)}/s offered): p50 ${Math.round(p50)} ms, p99 ${Math.round(p99)} ms (${latencies.length}/${expectedAlerts} alerts)`);
  if (floor) {
    console.log(
      `exactly-once floor: ${Math.round(N / floor.seconds)} events/s (detector ÷ floor ${(floor.seconds / detectorSeconds).toFixed(2)}), ${floor.throughputUsPerReport.toFixed(0)} µs CPU per report; report → output at ${RATE}/s asked (${floor.latency.offeredRate.toFixed(0)}/s offered): p50 ${Math.round(floor.latency.p50)} ms, p99 ${Math.round(floor.latency.p99)} ms, ${floor.latency.usPerReport.toFixed(0)} µs CPU per report (${floor.latency.outputs}/${floor.latency.expected} outputs)`,
    );
  }
  const floorResult = floor && { seconds: floor.seconds, eventsPerSecond: N / floor.seconds, detectorRatio: floor.seconds / detectorSeconds, throughputUsPerReport: floor.throughputUsPerReport, latency: floor.latency };
  console.log(
    `saved ${saveResults('pipeline', { events: N, producers: PRODUCERS, rows, ratio, concurrency: settings.concurrency, joinToFirstBatchMs, cpu, batches: { throughput: throughputBatches, paced: pacedBatches }, latency: { rate: RATE, offeredRate, alerts: latencies.length, p50, p99 }, floor: floorResult })}`,
  );
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
