/**
 * bench:history — does a report cost more as a producer's history grows? The same producers are
 * simulated over a short and a long run (default 90 and 360 days) and each recording is replayed
 * with in-memory state; the figure is the node CPU per report over the LAST `--tail` days of each
 * run (default 30), where the long run's producers carry four times the history. Flat means the
 * ratio long ÷ short stays near 1. CPU time, not wall time: the machine is shared and busy.
 *
 *   npm run bench:history -- [--producers 100] [--short 90] [--long 360] [--tail 30] [--seed 7] [--batch 250]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openStore } from '../src/cli/embedded.ts';
import { loadRulesFile } from '../src/config/rules-file.ts';
import { loadCatalogue } from '../src/domain/catalogue.ts';
import { DAY_MS } from '../src/domain/time.ts';
import { readRecording, type ParsedLine } from '../src/pipeline/recording.ts';
import { replayLines } from '../src/pipeline/replay.ts';
import { simulate } from '../src/sim/simulate.ts';
import { writeRecording } from '../src/sim/write-recording.ts';
import { printTable, saveResults, type BenchRow } from './report.ts';

const { values } = parseArgs({
  options: {
    producers: { type: 'string', default: '100' },
    short: { type: 'string', default: '90' },
    long: { type: 'string', default: '360' },
    tail: { type: 'string', default: '30' },
    seed: { type: 'string', default: '7' },
    // Small batches: the tail starts at a batch boundary, so a batch must be a small part of it.
    batch: { type: 'string', default: '250' },
  },
});
const int = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`--${name} must be a whole number >= 1 (got ${v})`);
  return n;
};
const PRODUCERS = int('producers', values.producers);
const TAIL = int('tail', values.tail);
const SEED = int('seed', values.seed);
const BATCH = int('batch', values.batch);
const RUNS = [int('short', values.short), int('long', values.long)];
if (RUNS[0]! <= TAIL || RUNS[1]! <= RUNS[0]!) throw new RangeError('need tail < short < long');

const cpuNow = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Report lines pass through here on their way to the replay: the latest occurredAt read so far. */
function watching(lines: AsyncIterable<ParsedLine>, seen: { latest: number; reports: number }): AsyncIterable<ParsedLine> {
  return (async function* () {
    for await (const parsed of lines) {
      if (parsed.ok) {
        const at = (parsed.line.value as { occurredAt?: unknown } | null)?.occurredAt;
        if (typeof at === 'number') {
          seen.reports += 1;
          if (at > seen.latest) seen.latest = at;
        }
      }
      yield parsed;
    }
  })();
}

interface RunFigures {
  days: number;
  reports: number;
  cpuSeconds: number;
  tailReports: number;
  tailCpuSeconds: number;
  tailMicrosPerReport: number;
}

async function runOnce(days: number, dir: string): Promise<RunFigures> {
  const sim = simulate({ seed: SEED, producers: PRODUCERS, days });
  const path = join(dir, `history-${days}.jsonl`);
  await writeRecording(path, sim.records);
  // A loop, not Math.min(...): a year of records is more arguments than the call stack takes.
  let start = Infinity;
  for (const r of sim.records) {
    const at = (r.value as { occurredAt?: unknown } | null)?.occurredAt;
    if (typeof at === 'number' && at < start) start = at;
  }
  sim.records.length = 0;
  // The tail: batches whose reports reach past this event time (the last TAIL simulated days).
  const tailFrom = start + (days - TAIL) * DAY_MS;
  const opened = await openStore(undefined);
  const seen = { latest: -Infinity, reports: 0 };
  let tail: { cpu: number; reports: number } | undefined;
  const began = cpuNow();
  await replayLines(watching(readRecording(path).lines, seen), {
    store: opened.store,
    rules: loadRulesFile(),
    catalogue: loadCatalogue(),
    batchSize: BATCH,
    onProgress: () => {
      if (!tail && seen.latest >= tailFrom) tail = { cpu: cpuNow(), reports: seen.reports };
    },
  });
  const ended = cpuNow();
  await opened.dispose();
  const cpuSeconds = ended - began;
  const tailCpuSeconds = tail ? ended - tail.cpu : NaN;
  const tailReports = tail ? seen.reports - tail.reports : 0;
  return { days, reports: seen.reports, cpuSeconds, tailReports, tailCpuSeconds, tailMicrosPerReport: (1e6 * tailCpuSeconds) / tailReports };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(os.tmpdir(), 'ree-bench-history-'));
  try {
    const figures: RunFigures[] = [];
    for (const days of RUNS) {
      console.error(`simulating and replaying ${PRODUCERS} producers over ${days} days (seed ${SEED}) ...`);
      figures.push(await runOnce(days, dir));
    }
    const rows: BenchRow[] = figures.map((f) => ({
      run: `${f.days} days`,
      reports: f.reports,
      'node CPU s': Math.round(f.cpuSeconds * 10) / 10,
      [`reports in last ${TAIL} days`]: f.tailReports,
      [`CPU s, last ${TAIL} days`]: Math.round(f.tailCpuSeconds * 100) / 100,
      'µs CPU per report (tail)': Math.round(f.tailMicrosPerReport),
    }));
    console.log(`\nhistory bench: seed ${SEED}, ${PRODUCERS} producers, in-memory replay, batch ${BATCH}\n`);
    printTable(rows);
    const ratio = figures[1]!.tailMicrosPerReport / figures[0]!.tailMicrosPerReport;
    console.log(`\nper-report CPU, last ${TAIL} days, ${RUNS[1]} ÷ ${RUNS[0]} days: ${ratio.toFixed(2)} (flat ≈ 1)`);
    console.log(`saved ${saveResults('history', { options: { seed: SEED, producers: PRODUCERS, batch: BATCH, short: RUNS[0], long: RUNS[1], tail: TAIL }, runs: figures, ratio, rows })}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
