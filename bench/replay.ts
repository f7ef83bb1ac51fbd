/**
 * bench:replay — the embedded replay's throughput on a simulated recording of a million-odd
 * records: the same file replayed with in-memory state and with Redis state (each in a child
 * process of its own, so its peak RSS is its own), beside a baseline that only reads and parses
 * the file; plus the time to simulate and to write the recording, the peak RSS, Redis memory per
 * producer, and a check that every run finds the same alerts (same count, same alertIds).
 *
 *   npm run bench:replay -- [--producers 2500] [--days 110] [--seed 42] [--batch 2000] [--skip-redis]
 *
 * Redis: REDIS_URL, default redis://127.0.0.1:6379. The replay gets a key namespace of its own,
 * deleted afterwards; the recording goes to a temp directory, removed afterwards.
 *
 * The baseline and each replay run in a child process of their own (this script with --child), so
 * a replay's peak RSS is its own: in one process the simulation's million records, once dropped,
 * still held the heap V8 had grown for them, and every later phase was charged with it. A child's
 * peak RSS is the kernel's high-water mark for it (getrusage maxrss): module loading included,
 * nothing of another phase.
 */
import { execFileSync, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import v8 from 'node:v8';
import vm from 'node:vm';
import { Redis } from 'ioredis';
import { loadRulesFile } from '../src/config/rules-file.ts';
import { loadCatalogue } from '../src/domain/catalogue.ts';
import type { Alert } from '../src/domain/events.ts';
import { openStore } from '../src/cli/embedded.ts';
import { MIN_MEMORY_BUDGET_MB } from '../src/cli/memory-budget.ts';
import { REPLAY_HEAP_GROWTH_PERCENT, sizeReplayHeap } from '../src/cli/replay-heap.ts';
import { readRecording } from '../src/pipeline/recording.ts';
import { DEFAULT_CHECKPOINT_REPORTS, replayLines, type ReplaySummary } from '../src/pipeline/replay.ts';
import { simulate } from '../src/sim/simulate.ts';
import { writeRecording } from '../src/sim/write-recording.ts';
import type { StateStore } from '../src/state/store.ts';
import { printTable, saveResults, type BenchRow } from './report.ts';

const { values } = parseArgs({
  options: {
    producers: { type: 'string', default: '2500' },
    days: { type: 'string', default: '110' },
    seed: { type: 'string', default: '42' },
    batch: { type: 'string', default: '2000' },
    'checkpoint-every': { type: 'string', default: String(DEFAULT_CHECKPOINT_REPORTS) },
    'heap-growth': { type: 'string', default: String(REPLAY_HEAP_GROWTH_PERCENT) },
    'memory-budget': { type: 'string' },
    'skip-redis': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h' },
    // Internal: run one measured step (JSON ChildTask) in this process and send its figures back.
    child: { type: 'string' },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench:replay -- [--producers 2500] [--days 110] [--seed 42] [--batch 2000] [--skip-redis]
       [--heap-growth ${REPLAY_HEAP_GROWTH_PERCENT} | --memory-budget <MB>] [--checkpoint-every ${DEFAULT_CHECKPOINT_REPORTS}]

Simulates about a million records, writes them as a recording, reads it once with readline and
JSON.parse only (the baseline), and replays it embedded with in-memory state and with Redis state
(REDIS_URL, default redis://127.0.0.1:6379), each in a child process of its own: events/s, CPU, peak RSS, Redis memory per producer, the ratios between them, and
whether every run raises the same alerts. Each replay sets V8's heap growth as \`replay\` does
(--heap-growth, src/cli/replay-heap.ts; 0 = V8's own choice), or keeps it under a memory budget as
\`replay --memory-budget\` does (src/cli/memory-budget.ts). --checkpoint-every: the Redis replay saves
the state changed since its last save once this many reports have run (as \`replay --redis\` does);
with --batch 50 --checkpoint-every 1 it saves after every batch of 50, as the live detector does
after each small batch. Bytes received are the server's (loads and reference reads count too,
and any other client's): with nothing else on the server, mostly the saves.
Saved to bench/results/replay.json.`);
  process.exit(0);
}

function intArg(name: string, value: string | undefined, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new RangeError(`--${name} must be an integer >= ${min} (got ${value})`);
  return n;
}

const PRODUCERS = intArg('producers', values.producers, 5);
const DAYS = intArg('days', values.days, 1);
const SEED = intArg('seed', values.seed, 0);
const BATCH = intArg('batch', values.batch, 1);
const CHECKPOINT_EVERY = intArg('checkpoint-every', values['checkpoint-every'], 1);
const SKIP_REDIS = values['skip-redis'] === true;
const HEAP_GROWTH = intArg('heap-growth', values['heap-growth'], 0);
const MEMORY_BUDGET = values['memory-budget'] === undefined ? undefined : intArg('memory-budget', values['memory-budget'], MIN_MEMORY_BUDGET_MB);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const MB = 1024 * 1024;

// A full collection between phases (outside the timings), so a phase's peak RSS is not the garbage
// of the one before it. The flag set at run time makes `gc` available to a fresh context.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

// ---- peak RSS: sampled by a timer, at every replay batch and at every phase boundary -------------

let peakRss = 0;
let phasePeakRss = 0;
function sampleRss(): number {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
  if (rss > phasePeakRss) phasePeakRss = rss;
  return rss;
}
/**
 * Starts a phase: returns a function that ends it with the phase's peak RSS in MB. Collects the
 * garbage first and gives the freed pages a moment to leave the RSS (V8 releases them off-thread),
 * so a phase is charged less with the memory the one before it left behind (within one process
 * only partly: hence a child process per replay).
 */
async function phase(): Promise<() => number> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  phasePeakRss = 0;
  sampleRss();
  return () => {
    sampleRss();
    return Math.round(phasePeakRss / MB);
  };
}
// The simulator runs synchronously, so this timer cannot fire inside it: the boundaries catch that peak.
const sampler = setInterval(sampleRss, 200);
sampler.unref();

// ---- progress on stderr: a rewritten line on a terminal, a line every 10 s otherwise -------------

function progressLine(label: string, total: number) {
  const tty = process.stderr.isTTY === true;
  const every = tty ? 250 : 10_000;
  const started = performance.now();
  let last = 0;
  return {
    update(done: number) {
      const now = performance.now();
      if (now - last < every) return;
      last = now;
      const s = (now - started) / 1000;
      const text = `${label}: ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} lines (${((100 * done) / total).toFixed(0)}%), ${Math.round(done / s).toLocaleString('en-US')} lines/s, rss ${Math.round(sampleRss() / MB)} MB`;
      process.stderr.write(tty ? `\r${text}\x1b[K` : `${text}\n`);
    },
    finish() {
      if (tty) process.stderr.write('\r\x1b[K');
    },
  };
}

// ---- cleanup: temp files and Redis keys, also on Ctrl-C ------------------------------------------

const cleanups: (() => Promise<void> | void)[] = [];
let cleaning: Promise<void> | undefined;
/** Runs once: a signal and the end of main may both ask, and both must wait for the same cleanup. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    while (cleanups.length > 0) {
      const step = cleanups.pop()!;
      try {
        await step();
      } catch (err) {
        console.error(`cleanup failed: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
let interrupted = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true;
    console.error(`\n${signal}: cleaning up ...`);
    void cleanUp().finally(() => process.exit(130));
  });
}

// ---- one replay of the recording on one store ----------------------------------------------------

interface ReplayRun {
  summary: ReplaySummary;
  wallSeconds: number;
  /** CPU time of this process (user + system) during the replay. */
  cpuSeconds: number;
  alertIds: Set<string>;
  duplicateAlertIds: number;
  peakRssMb: number;
}

async function replayOnce(label: string, path: string, store: StateStore, total: number, options: { batch: number; checkpointEvery: number }): Promise<ReplayRun> {
  const rules = loadRulesFile();
  const catalogue = loadCatalogue();
  const alertIds = new Set<string>();
  let duplicateAlertIds = 0;
  const end = await phase();
  const progress = progressLine(label, total);
  const started = performance.now();
  const cpu = process.cpuUsage();
  const reader = readRecording(path);
  const summary = await replayLines(reader.lines, {
    store,
    rules,
    catalogue,
    batchSize: options.batch,
    checkpointEvery: options.checkpointEvery,
    onAlerts: (alerts: Alert[]) => {
      for (const a of alerts) {
        if (alertIds.has(a.alertId)) duplicateAlertIds += 1;
        alertIds.add(a.alertId);
      }
    },
    onProgress: (linesRead) => {
      sampleRss();
      progress.update(linesRead);
    },
  });
  const wallSeconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpu);
  progress.finish();
  return { summary, wallSeconds, cpuSeconds, alertIds, duplicateAlertIds, peakRssMb: end() };
}

/** The commit the bench runs on, `+dirty` when tracked files have changes (anyone's). */
function gitCommit(): string | null {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head}+dirty` : head;
  } catch {
    return null;
  }
}

function cpuSecondsSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1e6;
}

function sameSet(a: Set<string>, b: Set<string>): { onlyA: string[]; onlyB: string[] } {
  return { onlyA: [...a].filter((x) => !b.has(x)), onlyB: [...b].filter((x) => !a.has(x)) };
}

/** Server-wide figures (other clients of the same Redis count too): CPU of the server, EVALSHA calls and time, bytes received. */
interface RedisServerStats {
  cpuSeconds: number;
  evalshaCalls: number;
  evalshaSeconds: number;
  netInputBytes: number;
}

async function redisServerStats(url: string): Promise<RedisServerStats> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    const cpu = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([0-9.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
    const evalsha = /^cmdstat_evalsha:calls=(\d+),usec=(\d+)/m.exec(await redis.info('commandstats'));
    const netInput = /^total_net_input_bytes:(\d+)/m.exec(await redis.info('stats'));
    return {
      cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'),
      evalshaCalls: Number(evalsha?.[1] ?? 0),
      evalshaSeconds: Number(evalsha?.[2] ?? 0) / 1e6,
      netInputBytes: Number(netInput?.[1] ?? 0),
    };
  } finally {
    redis.disconnect();
  }
}

/** The hash tag of a key (`<prefix>:{tag}:<kind>`): a producer id, or lic:/alert:/engine for keys of no producer. */
const hashTagOf = (key: string): string => /\{([^}]*)\}/.exec(key)?.[1] ?? '';

/** Keys of a replay's namespace, Redis's used memory, and what the producers' keys take (MEMORY USAGE). */
async function redisInfo(url: string, prefix: string): Promise<{ keys: number; usedMemoryMb: number; producers: number; producerBytes: number }> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3 });
  await redis.connect();
  try {
    let keys = 0;
    let producerBytes = 0;
    const producers = new Set<string>();
    let cursor = '0';
    do {
      const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 5000);
      cursor = next;
      keys += batch.length;
      // Licences, alert markers and the epoch counter belong to no producer.
      const ofProducers = batch.filter((key) => !/^(lic:|alert:|engine$)/.test(hashTagOf(key)));
      for (const key of ofProducers) producers.add(hashTagOf(key));
      const pipeline = redis.pipeline();
      // SAMPLES 0: every field of a hash counted, not an estimate from five.
      for (const key of ofProducers) pipeline.memory('USAGE', key, 'SAMPLES', 0);
      for (const [err, bytes] of (await pipeline.exec()) ?? []) if (!err) producerBytes += Number(bytes ?? 0);
    } while (cursor !== '0');
    const used = /used_memory:(\d+)/.exec(await redis.info('memory'))?.[1];
    return { keys, usedMemoryMb: used ? Math.round(Number(used) / MB) : NaN, producers: producers.size, producerBytes };
  } finally {
    redis.disconnect();
  }
}

/** The floor under any replay: read the file with readline and JSON.parse every line, nothing else. */
async function parseBaseline(path: string, total: number): Promise<ReplayRun> {
  const end = await phase();
  const progress = progressLine('readline + JSON.parse', total);
  const started = performance.now();
  const cpu = process.cpuUsage();
  let lines = 0;
  for await (const parsed of readRecording(path).lines) {
    if (parsed.ok) lines += 1;
    if (lines % 10_000 === 0) progress.update(lines);
  }
  const wallSeconds = (performance.now() - started) / 1000;
  progress.finish();
  const summary: ReplaySummary = { lines, reports: 0, licences: 0, watchlist: 0, quotas: 0, skipped: 0, deadLetters: 0, alerts: 0, alertsByRule: {}, seconds: wallSeconds };
  return { summary, wallSeconds, cpuSeconds: cpuSecondsSince(cpu), alertIds: new Set(), duplicateAlertIds: 0, peakRssMb: end() };
}

/** Figures of a replay on Redis, taken before its namespace is deleted. */
interface RedisRunFigures {
  keys: number;
  redisUsedMb: number;
  producers: number;
  bytesPerProducer: number;
  description: string;
  server: RedisServerStats;
}

/** One measured step, run in a child process of its own (see the top of the file). */
type ChildTask =
  | { kind: 'parse'; path: string; total: number }
  // The replay's options travel with the task: the child is forked with nothing else on its command line.
  | { kind: 'replay'; path: string; total: number; store: 'memory' | 'redis'; heapGrowth: number; memoryBudgetMb: number | undefined; batch: number; checkpointEvery: number };

/** A step's figures as the child sends them back (a Set does not cross the IPC channel). */
type ChildRun = Omit<ReplayRun, 'alertIds'> & { alertIds: string[]; redis?: RedisRunFigures };

/** The kernel's high-water mark of this process's RSS, in MB: every allocation counts, even between samples. */
const maxRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

async function runTask(task: ChildTask): Promise<ChildRun> {
  if (task.kind === 'parse') {
    const run = await parseBaseline(task.path, task.total);
    return { ...run, alertIds: [], peakRssMb: maxRssMb() };
  }
  const { store, path, total } = task;
  // As `replay` does (the child gets its task, not this script's options).
  sizeReplayHeap({ heapGrowth: task.heapGrowth, memoryBudgetMb: task.memoryBudgetMb, warn: (message) => console.error(`  ${message}`) });
  if (store === 'memory') {
    const opened = await openStore(undefined);
    const run = await replayOnce('replay (memory)', path, opened.store, total, task);
    await opened.dispose();
    console.error(`  memory: ${run.summary.reports.toLocaleString('en-US')} reports in ${run.wallSeconds.toFixed(1)} s, ${run.summary.alerts} alerts, peak RSS ${maxRssMb()} MB`);
    return { ...run, alertIds: [...run.alertIds], peakRssMb: maxRssMb() };
  }
  const prefix = `ree-bench-replay-${randomUUID().slice(0, 8)}`;
  const opened = await openStore(REDIS_URL, { prefix });
  let disposed = false;
  const dispose = async () => {
    if (disposed) return;
    disposed = true;
    await opened.dispose();
  };
  cleanups.push(dispose);
  const before = await redisServerStats(REDIS_URL);
  const run = await replayOnce('replay (redis)', path, opened.store, total, task);
  const peakRssMb = maxRssMb();
  const after = await redisServerStats(REDIS_URL);
  const server: RedisServerStats = {
    cpuSeconds: after.cpuSeconds - before.cpuSeconds,
    evalshaCalls: after.evalshaCalls - before.evalshaCalls,
    evalshaSeconds: after.evalshaSeconds - before.evalshaSeconds,
    netInputBytes: after.netInputBytes - before.netInputBytes,
  };
  const info = await redisInfo(REDIS_URL, prefix);
  const t = performance.now();
  await dispose();
  const left = await redisInfo(REDIS_URL, prefix);
  const bytesPerProducer = info.producers > 0 ? Math.round(info.producerBytes / info.producers) : 0;
  console.error(`  redis: ${run.summary.reports.toLocaleString('en-US')} reports in ${run.wallSeconds.toFixed(1)} s, ${run.summary.alerts} alerts; ${info.keys.toLocaleString('en-US')} keys, ${Math.round(bytesPerProducer / 1024)} KB per producer, deleted in ${((performance.now() - t) / 1000).toFixed(1)} s, ${left.keys} left`);
  return {
    ...run,
    alertIds: [...run.alertIds],
    peakRssMb,
    redis: { keys: info.keys, redisUsedMb: info.usedMemoryMb, producers: info.producers, bytesPerProducer, description: opened.description, server },
  };
}

/** Runs a step in a child process (this script with --child) and resolves with its figures. */
function inChild(task: ChildTask): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    // fork keeps this process's execArgv, so the child loads TypeScript the same way (tsx).
    const child = fork(fileURLToPath(import.meta.url), ['--child', JSON.stringify(task)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const stop = () => new Promise<void>((done) => (child.exitCode !== null || child.signalCode !== null ? done() : (child.once('exit', () => done()), child.kill('SIGTERM'))));
    cleanups.push(stop);
    let result: ChildRun | undefined;
    child.on('message', (message) => {
      result = message as ChildRun;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      cleanups.splice(cleanups.indexOf(stop), 1);
      if (result) resolve(result);
      else reject(new Error(`${task.kind} step ended without figures (exit ${code ?? signal})`));
    });
  });
}

async function childMain(taskText: string): Promise<void> {
  const run = await runTask(JSON.parse(taskText) as ChildTask);
  await new Promise<void>((resolve, reject) => process.send!(run, (err: Error | null) => (err ? reject(err) : resolve())));
}

async function main(): Promise<void> {
  // Read at the start: others commit to this tree while a 4-minute run goes on.
  const commit = gitCommit();
  const dir = mkdtempSync(join(os.tmpdir(), 'ree-bench-replay-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'recording.jsonl');

  // 1. Simulate (into memory: the whole run as one array).
  console.error(`simulating seed ${SEED}, ${PRODUCERS} producers, ${DAYS} days ...`);
  let end = await phase();
  let t = performance.now();
  let cpu = process.cpuUsage();
  const sim = simulate({ seed: SEED, producers: PRODUCERS, days: DAYS });
  const simulateSeconds = (performance.now() - t) / 1000;
  const simulateCpuSeconds = cpuSecondsSince(cpu);
  const simulateRssMb = end();
  const { stats } = sim;
  const records = stats.records;
  console.error(`  ${records.toLocaleString('en-US')} records (${Object.entries(stats.byTopic).map(([k, v]) => `${k} ${v}`).join(', ')}), ${stats.labels} labels, ${simulateSeconds.toFixed(1)} s`);
  if (records < 1_000_000) console.error(`  warning: fewer than 1,000,000 records; raise --producers or --days`);

  // 2. Write the recording.
  end = await phase();
  t = performance.now();
  cpu = process.cpuUsage();
  const written = await writeRecording(path, sim.records);
  const writeSeconds = (performance.now() - t) / 1000;
  const writeCpuSeconds = cpuSecondsSince(cpu);
  const writeRssMb = end();
  const fileMb = statSync(path).size / MB;
  console.error(`  wrote ${written.toLocaleString('en-US')} lines, ${fileMb.toFixed(0)} MB, ${writeSeconds.toFixed(1)} s`);
  // The replays read the file: drop the in-memory array so its heap does not weigh on them.
  sim.records.length = 0;

  // 3. The baseline: read and parse only.
  const baseline = await inChild({ kind: 'parse', path, total: written });
  console.error(`  readline + JSON.parse: ${baseline.summary.lines.toLocaleString('en-US')} lines in ${baseline.wallSeconds.toFixed(1)} s`);

  // 4. Replay with in-memory state; 5. with Redis state in a fresh namespace.
  type Run = ChildRun & { store: 'memory' | 'redis' };
  const runs: Run[] = [];
  for (const store of SKIP_REDIS ? (['memory'] as const) : (['memory', 'redis'] as const)) {
    const run = await inChild({ kind: 'replay', path, total: written, store, heapGrowth: HEAP_GROWTH, memoryBudgetMb: MEMORY_BUDGET, batch: BATCH, checkpointEvery: CHECKPOINT_EVERY });
    runs.push({ ...run, store });
  }

  // 6. Report.
  const label = (r: Run) => `replay, ${r.store === 'memory' ? 'in-memory' : 'Redis'} state`;
  const row = (step: string, r: ChildRun): BenchRow => ({
    step,
    records: r.summary.lines,
    seconds: Math.round(r.wallSeconds * 100) / 100,
    'events/s': Math.round(r.summary.lines / r.wallSeconds),
    'reports/s': r.summary.reports > 0 ? Math.round(r.summary.reports / r.wallSeconds) : '',
    alerts: r.summary.reports > 0 ? r.summary.alerts : '',
    'node CPU s': Math.round(r.cpuSeconds * 10) / 10,
    'peak RSS MB': r.peakRssMb,
  });
  const rows: BenchRow[] = [
    { step: 'simulate (into memory)', records, seconds: Math.round(simulateSeconds * 100) / 100, 'events/s': Math.round(records / simulateSeconds), 'reports/s': '', alerts: '', 'node CPU s': Math.round(simulateCpuSeconds * 10) / 10, 'peak RSS MB': simulateRssMb },
    { step: 'write recording', records: written, seconds: Math.round(writeSeconds * 100) / 100, 'events/s': Math.round(written / writeSeconds), 'reports/s': '', alerts: '', 'node CPU s': Math.round(writeCpuSeconds * 10) / 10, 'peak RSS MB': writeRssMb },
    row('readline + JSON.parse (baseline)', baseline),
    ...runs.map((r) => row(label(r), r)),
  ];

  // Every run against the first: a disagreement is a bug.
  const reference = runs[0]!;
  const agreements = runs.slice(1).map((r) => {
    const diff = sameSet(new Set(reference.alertIds), new Set(r.alertIds));
    return { run: label(r), against: label(reference), sameCount: reference.summary.alerts === r.summary.alerts, sameIds: diff.onlyA.length === 0 && diff.onlyB.length === 0, onlyReference: diff.onlyA.slice(0, 20), onlyThis: diff.onlyB.slice(0, 20) };
  });

  console.log(`\nreplay bench${commit ? ` at ${commit}` : ''}: seed ${SEED}, ${PRODUCERS} producers, ${DAYS} days, batch ${BATCH}, Redis checkpoint every ${CHECKPOINT_EVERY.toLocaleString('en-US')} reports, ${MEMORY_BUDGET === undefined ? `heap growth ${HEAP_GROWTH} %` : `memory budget ${MEMORY_BUDGET} MB`}, ${fileMb.toFixed(0)} MB recording`);
  console.log(`records by topic: ${Object.entries(stats.byTopic).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`).join(', ')}`);
  console.log(`replay: ${reference.summary.lines.toLocaleString('en-US')} lines = ${reference.summary.reports.toLocaleString('en-US')} reports + ${reference.summary.licences.toLocaleString('en-US')} licence records, ${reference.summary.skipped} skipped, ${reference.summary.deadLetters} dead letters; ${stats.labels} injected anomalies\n`);
  printTable(rows);
  console.log('');
  const byRule = (s: ReplaySummary) => Object.entries(s.alertsByRule).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${k} ${v}`).join(', ');
  for (const r of runs) console.log(`alerts (${r.store}): ${r.summary.alerts} — ${byRule(r.summary)}${r.duplicateAlertIds ? `; ${r.duplicateAlertIds} duplicate alertIds` : ''}`);
  for (const a of agreements) {
    console.log(`${a.run} agrees with ${a.against}: alert count ${a.sameCount ? 'yes' : 'NO'}, alertIds ${a.sameIds ? 'yes' : `NO (${a.onlyReference.length} only in the reference, ${a.onlyThis.length} only here; first: ${[...a.onlyReference, ...a.onlyThis].slice(0, 5).join(', ')})`}`);
  }
  for (const r of runs) {
    if (!r.redis) continue;
    const { server } = r.redis;
    console.log(
      `redis: ${r.redis.description}, ${r.redis.keys.toLocaleString('en-US')} keys, ${(r.redis.bytesPerProducer / 1024).toFixed(1)} KB per producer (MEMORY USAGE over ${r.redis.producers} producers), ${r.redis.redisUsedMb} MB used at the end; ` +
        `server (server-wide): ${server.cpuSeconds.toFixed(1)} s CPU (${Math.round((100 * server.cpuSeconds) / r.wallSeconds)}% of the wall time), ` +
        `${server.evalshaCalls.toLocaleString('en-US')} EVALSHA, ${server.evalshaSeconds.toFixed(1)} s in them, ${server.evalshaCalls ? Math.round((1e6 * server.evalshaSeconds) / server.evalshaCalls) : 0} µs each, ${r.summary.reports ? ((1e6 * server.evalshaSeconds) / r.summary.reports).toFixed(1) : 0} µs per report; ` +
        `${(server.netInputBytes / MB).toFixed(0)} MB received, ${r.summary.reports ? Math.round(server.netInputBytes / r.summary.reports) : 0} bytes per report`,
    );
  }
  if (SKIP_REDIS) console.log('redis: skipped (--skip-redis)');

  // The ratios the state engine is judged by, all from this one run (same machine, same load).
  const find = (store: Run['store']) => runs.find((r) => r.store === store);
  const rate = (r: ChildRun) => r.summary.lines / r.wallSeconds;
  const ratios: Record<string, number> = {};
  const m = find('memory');
  const r = find('redis');
  if (m) ratios['in-memory / parse'] = rate(m) / rate(baseline);
  if (m && r) ratios['Redis / in-memory'] = rate(r) / rate(m);
  console.log(`ratios (events/s): ${Object.entries(ratios).map(([k, v]) => `${k} ${v.toFixed(2)}`).join('; ')}`);
  console.log(`peak RSS over the run: ${Math.round(peakRss / MB)} MB in this process; ${runs.map((r) => `${r.store} ${r.peakRssMb} MB`).join(', ')} (each replay in a child process of its own)`);

  const figures = (r: Run) => ({
    ...r.summary,
    alertIds: undefined,
    store: r.store,
    wallSeconds: r.wallSeconds,
    cpuSeconds: r.cpuSeconds,
    eventsPerSecond: rate(r),
    reportsPerSecond: r.summary.reports / r.wallSeconds,
    peakRssMb: r.peakRssMb,
    redis: r.redis ?? null,
  });
  const saved = saveResults('replay', {
    commit,
    options: { seed: SEED, producers: PRODUCERS, days: DAYS, batch: BATCH, checkpointEvery: CHECKPOINT_EVERY, heapGrowth: HEAP_GROWTH, memoryBudgetMb: MEMORY_BUDGET ?? null, redis: SKIP_REDIS ? null : REDIS_URL },
    sim: { records, byTopic: stats.byTopic, labels: stats.labels, labelsByRule: stats.labelsByRule },
    recordingMb: Math.round(fileMb),
    simulateSeconds,
    writeSeconds,
    baseline: { lines: baseline.summary.lines, wallSeconds: baseline.wallSeconds, eventsPerSecond: rate(baseline), peakRssMb: baseline.peakRssMb },
    runs: runs.map(figures),
    agreements,
    ratios,
    peakRssMb: Math.round(peakRss / MB),
    rows,
  });
  console.log(`saved ${saved}`);
  if (agreements.some((a) => !(a.sameCount && a.sameIds))) process.exitCode = 2;
}

(values.child === undefined ? main() : childMain(values.child))
  .catch((err: unknown) => {
    // Interrupted: the store was closed under the replay, which fails; the signal handler exits.
    if (!interrupted) console.error(err);
    process.exitCode = interrupted ? 130 : 1;
  })
  .finally(async () => {
    await cleanUp();
    clearInterval(sampler);
    process.exit(process.exitCode ?? 0);
  });
