/** `ree-sentinel replay <recording>`: the detector over a recorded file, deterministic. */
import { once } from 'node:events';
import { loadRulesFile } from '../config/rules-file.ts';
import { loadCatalogue } from '../domain/catalogue.ts';
import type { Alert } from '../domain/events.ts';
import { ReeError } from '../errors.ts';
import { readRecording } from '../pipeline/recording.ts';
import { DEFAULT_CHECKPOINT_REPORTS, replayLines, type ReplaySummary } from '../pipeline/replay.ts';
import { DEFAULT_ALLOWED_LATENESS_MS } from '../pipeline/watermark-tracker.ts';
import { parseCommandArgs, intOption } from './args.ts';
import { openStore } from './embedded.ts';
import { openOutputFile } from './output-file.ts';
import { createProgress } from './progress.ts';
import { MIN_MEMORY_BUDGET_MB } from './memory-budget.ts';
import { REPLAY_HEAP_GROWTH_PERCENT, sizeReplayHeap } from './replay-heap.ts';

export const REPLAY_USAGE = `Usage: ree-sentinel replay <recording.jsonl> [options]

Replays a recording (JSON Lines, one Kafka record per line) through the same validation, state
and rules as 'run', in file order. Same input, same alerts: ids included.

Options:
  --out <file>           write alerts as JSON Lines to this file (default: stdout)
  --rules <file>         rules file (YAML); default: built-in defaults (or REE_RULES_FILE)
  --redis <url>          keep state in Redis instead of memory (a fresh key namespace per run)
  --keep-state           with --redis: keep the namespace after the run
  --checkpoint-every <n> with --redis: save the state changed since the last save once this many
                         reports have run (default ${DEFAULT_CHECKPOINT_REPORTS}); the end of the replay always saves
  --allowed-lateness <ms>  event-time watermark lateness (default 259200000 = 72 h, or
                         REE_ALLOWED_LATENESS_MS)
  --dead-letters <file>  write rejected lines with their reasons as JSON Lines
  --batch <n>            reports per pipeline batch (default 2000)
  --heap-growth <pct>    let the heap grow to the live state plus this percent between full
                         GCs: less memory, more CPU (30: ~0.7x the peak RSS for ~1.1-1.4x the
                         CPU at 1 M records); default ${REPLAY_HEAP_GROWTH_PERCENT} = V8's own choice (faster, up to ~3x the memory)
  --memory-budget <MB>   keep the process's memory (RSS) near this many MB by steering V8's heap
                         growth and compaction as the state grows (at least ${MIN_MEMORY_BUDGET_MB}; instead of
                         --heap-growth): 1 M records peaked at 386-395 MB with 380, for ~1.5x
                         the time and ~1.9x the CPU of the default; a budget the live state
                         outgrows is kept as nearly as it can be, slowly, with a warning
  --quiet                no summary on stderr
  -h, --help             this help`;

/** Every line rejected, none read: not a recording. */
const readNothing = (s: ReplaySummary): boolean => s.deadLetters > 0 && s.reports + s.licences + s.watchlist + s.quotas === 0;

export function formatSummary(s: ReplaySummary, where: string): string {
  const rate = s.seconds > 0 ? Math.round(s.reports / s.seconds) : 0;
  const byRule = Object.entries(s.alertsByRule)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([r, n]) => `    ${r.padEnd(24)} ${n}`)
    .join('\n');
  return [
    `replayed ${s.lines} lines (${s.reports} reports, ${s.licences} licence records, ${s.skipped} skipped) in ${s.seconds.toFixed(2)} s, ${rate} reports/s, ${where}`,
    `  watchlist records: ${s.watchlist}, quota records: ${s.quotas}`,
    `  dead letters: ${s.deadLetters}`,
    `  alerts: ${s.alerts}${byRule ? `\n${byRule}` : ''}`,
  ].join('\n');
}

async function write(stream: NodeJS.WritableStream, text: string) {
  if (!stream.write(text)) await once(stream, 'drain');
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(
    argv,
    {
      out: { type: 'string' },
      rules: { type: 'string' },
      redis: { type: 'string' },
      'keep-state': { type: 'boolean' },
      'checkpoint-every': { type: 'string' },
      'allowed-lateness': { type: 'string' },
      'dead-letters': { type: 'string' },
      batch: { type: 'string' },
      'heap-growth': { type: 'string' },
      'memory-budget': { type: 'string' },
      quiet: { type: 'boolean' },
    },
    REPLAY_USAGE,
    1,
  );
  if (values.help) {
    console.log(REPLAY_USAGE);
    return 0;
  }
  const path = positionals[0];
  if (!path) throw new ReeError('REE_ERR_USAGE', `which recording? Give its path\n\n${REPLAY_USAGE}`);
  const heapGrowth = intOption(values['heap-growth'] as string | undefined, 'heap-growth', REPLAY_HEAP_GROWTH_PERCENT, 0);
  const memoryBudgetMb = values['memory-budget'] === undefined ? undefined : intOption(values['memory-budget'] as string, 'memory-budget', 0, MIN_MEMORY_BUDGET_MB);
  if (memoryBudgetMb !== undefined && values['heap-growth'] !== undefined) {
    throw new ReeError('REE_ERR_USAGE', '--memory-budget and --heap-growth both set how far the heap grows: give one of them');
  }
  const checkpointEvery = intOption(values['checkpoint-every'] as string | undefined, 'checkpoint-every', DEFAULT_CHECKPOINT_REPORTS, 1);
  if (values['checkpoint-every'] !== undefined && !values.redis) throw new ReeError('REE_ERR_USAGE', '--checkpoint-every applies to --redis only: in-memory state is never saved');
  if (values['keep-state'] && !values.redis) throw new ReeError('REE_ERR_USAGE', '--keep-state applies to --redis only: in-memory state ends with the replay');
  const rules = loadRulesFile((values.rules as string | undefined) ?? process.env.REE_RULES_FILE);
  const catalogue = loadCatalogue();
  const reader = readRecording(path);
  // Checked options first: a refused command leaves the process's V8 flags as they were.
  const budget = sizeReplayHeap({ heapGrowth, memoryBudgetMb, warn: (message) => console.error(`replay: warning: ${message}`) });
  const out = values.out ? await openOutputFile(values.out as string, 'alerts') : undefined;
  const deadOut = values['dead-letters'] ? await openOutputFile(values['dead-letters'] as string, 'dead-letters') : undefined;
  const progress = createProgress(reader.totalBytes, 'replay');
  const deadReasons: string[] = [];
  let opened: Awaited<ReturnType<typeof openStore>> | undefined;
  let done = false;
  try {
    opened = await openStore(values.redis as string | undefined, { keep: Boolean(values['keep-state']) });
    const summary = await replayLines(reader.lines, {
      store: opened.store,
      rules,
      catalogue,
      batchSize: intOption(values.batch as string | undefined, 'batch', 2000, 1),
      checkpointEvery,
      allowedLatenessMs: intOption((values['allowed-lateness'] as string | undefined) ?? process.env.REE_ALLOWED_LATENESS_MS, 'allowed-lateness', DEFAULT_ALLOWED_LATENESS_MS, 0),
      onAlerts: async (alerts: Alert[]) => {
        const text = alerts.map((a) => JSON.stringify(a)).join('\n') + '\n';
        if (out) await out.write(text);
        else await write(process.stdout, text);
      },
      onDeadLetter: async (d) => {
        if (deadReasons.length < 5) deadReasons.push(d.reason);
        await deadOut?.write(JSON.stringify(d) + '\n');
      },
      onProgress: () => progress.update(reader.bytesRead()),
    });
    progress.finish();
    await out?.commit();
    await deadOut?.commit();
    done = true;
    if (!values.quiet || readNothing(summary)) {
      console.error(formatSummary(summary, opened.description));
      // The kernel's high-water mark (KB on Linux): what a machine short of memory has to hold, and
      // what --memory-budget is steering.
      const peakMb = Math.round(process.resourceUsage().maxRSS / 1024);
      console.error(`  peak memory: ${peakMb} MB RSS${memoryBudgetMb === undefined ? '' : ` (memory budget ${memoryBudgetMb} MB)`}`);
      if (deadReasons.length > 0) console.error(`  first rejected lines:\n${deadReasons.map((r) => `    ${r}`).join('\n')}`);
    }
    if (readNothing(summary)) {
      // Most likely the wrong file (a labels or alerts file): a script must not take it for a clean replay.
      console.error(`replay: no line of ${path} is a record of a topic ree-sentinel reads (all ${summary.deadLetters} rejected): is it a recording made by 'record' or 'simulate'?`);
      return 1;
    }
  } finally {
    if (!done) {
      progress.finish();
      await out?.abort();
      await deadOut?.abort();
    }
    await opened?.dispose();
    budget?.stop();
  }
  return 0;
}
