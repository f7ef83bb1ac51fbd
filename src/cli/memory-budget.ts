/**
 * A memory budget for a replay (`replay --memory-budget <MB>`): keeps the process's RSS near a
 * number of megabytes by steering V8's heap sizing as the live state grows, at a price in CPU.
 *
 * Why steering and not a heap limit: a limit sized too small kills the replay with an
 * out-of-memory error, and what a replay keeps alive depends on its producers and rules. Why
 * not a fixed growth (`--heap-growth`): at 1 M records a growth of 30 % still peaked at ~570 MB
 * for ~240 MB of live heap, because V8's full GCs sweep the old space in place and leave its pages
 * half used (heap 494 MB committed, 241 MB used); only compacting GCs give those pages back, and
 * V8 compacts that way when told to favour size over speed (`--optimize-for-size`), which costs
 * ~3x the CPU if left on for a whole replay (bench/README.md, "Peak RSS: a memory budget").
 *
 * So after every full GC (and every half second between them) the budget reads the process's
 * memory and sets two V8 flags, both read by V8 at each full GC: the heap growth, sized so the
 * old space may grow only into the room the budget has left, and compaction, switched on only
 * once the RSS nears the budget. The budget is a target, not a limit: the RSS can pass it by a
 * few percent between two readings (1 M records at 380 MB peaked at 386-395 MB). A replay whose
 * live state alone does not fit the budget is never stopped: it goes on at the smallest growth,
 * slowly, and is told once.
 */
import v8 from 'node:v8';
import { constants, PerformanceObserver } from 'node:perf_hooks';

const MB = 1024 * 1024;

/** The smallest budget taken: node and the replay's modules take ~60 MB before the first line. */
export const MIN_MEMORY_BUDGET_MB = 100;

/** What the young generation may hold beside the old one: two 16 MB semi-spaces, V8's 64-bit default, and some slack. */
const YOUNG_GENERATION_BYTES = 34 * MB;
/** Growth bounds, percent: below 5 V8 collects nearly all the time; above 300 the budget is far off anyway. */
const MIN_GROWTH_PERCENT = 5;
const MAX_GROWTH_PERCENT = 300;
/** The share of the room left that the next growth may take: the live heap grows again before the GC after it. */
const ROOM_SHARE = 0.7;
/** Compaction goes on once the RSS is past this share of the budget, or the room left is under half the live heap. */
const COMPACT_FROM_RSS_SHARE = 0.8;
const COMPACT_BELOW_ROOM_SHARE = 0.5;
const CHECK_EVERY_MS = 500;

export interface MemoryReading {
  rss: number;
  heapTotal: number;
  heapUsed: number;
}

export interface HeapSetting {
  /** V8's `--heap-growing-percent`. */
  growthPercent: number;
  /** V8's `--optimize-for-size`: full GCs that compact the old space and give pages back. */
  compact: boolean;
  /** The heap in use does not fit the budget even at the smallest growth. */
  overBudget: boolean;
}

/** The heap setting for a reading of this process's memory under a budget in bytes (pure). */
export function heapSettingFor(reading: MemoryReading, budgetBytes: number): HeapSetting {
  const outsideHeap = Math.max(0, reading.rss - reading.heapTotal);
  const used = Math.max(reading.heapUsed, 1);
  const room = budgetBytes - outsideHeap - YOUNG_GENERATION_BYTES - used;
  const growth = Math.floor((room / used) * 100 * ROOM_SHARE);
  return {
    growthPercent: Math.max(MIN_GROWTH_PERCENT, Math.min(MAX_GROWTH_PERCENT, growth)),
    compact: reading.rss > budgetBytes * COMPACT_FROM_RSS_SHARE || room < used * COMPACT_BELOW_ROOM_SHARE,
    overBudget: room < 0,
  };
}

export interface MemoryBudgetOptions {
  /** Told once, the first time the live heap (the heap in use after a full GC) leaves no room in the budget. */
  onOverBudget?: ((reading: MemoryReading) => void) | undefined;
  /** For tests: where readings come from (default: process.memoryUsage). */
  read?: (() => MemoryReading) | undefined;
  /** For tests: calls `onFullGc` after each full GC until the returned function is called (default: V8's GC events). */
  watchFullGcs?: ((onFullGc: () => void) => () => void) | undefined;
}

/** Calls `onFullGc` after each of V8's full (mark-compact) GCs, from node's performance entries. */
function watchV8FullGcs(onFullGc: () => void): () => void {
  const observer = new PerformanceObserver((list) => {
    if (list.getEntries().some((e) => (e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR)) onFullGc();
  });
  observer.observe({ entryTypes: ['gc'] });
  return () => observer.disconnect();
}

export interface MemoryBudget {
  /** How many times the setting changed, and the last one applied. */
  readonly stats: { changes: number; last: HeapSetting | undefined };
  /** Stops steering and turns compaction off again (the growth stays as last set). */
  stop(): void;
}

/** Steers V8's heap for the rest of this process (until `stop`) to keep its RSS under `budgetMb`. */
export function keepMemoryUnderBudget(budgetMb: number, options: MemoryBudgetOptions = {}): MemoryBudget {
  if (!Number.isInteger(budgetMb) || budgetMb < MIN_MEMORY_BUDGET_MB) throw new RangeError(`memory budget must be a whole number of MB >= ${MIN_MEMORY_BUDGET_MB}, got ${budgetMb}`);
  const budget = budgetMb * MB;
  const read = options.read ?? (() => process.memoryUsage());
  const stats: MemoryBudget['stats'] = { changes: 0, last: undefined };
  let told = false;

  /** `afterGc`: the reading follows a full GC, so the heap in use is the live state, not garbage since. */
  const adjust = (afterGc: boolean) => {
    const reading = read();
    const next = heapSettingFor(reading, budget);
    const growthChanged = stats.last?.growthPercent !== next.growthPercent;
    const compactChanged = stats.last?.compact !== next.compact;
    if (growthChanged) v8.setFlagsFromString(`--heap-growing-percent=${next.growthPercent}`);
    if (compactChanged) v8.setFlagsFromString(next.compact ? '--optimize-for-size' : '--no-optimize-for-size');
    if (growthChanged || compactChanged) stats.changes += 1;
    stats.last = next;
    if (afterGc && next.overBudget && !told) {
      told = true;
      options.onOverBudget?.(reading);
    }
  };

  // Right after a full GC the heap in use is close to the live state: the best time to size the next growth.
  const unwatch = (options.watchFullGcs ?? watchV8FullGcs)(() => adjust(true));
  const timer = setInterval(() => adjust(false), CHECK_EVERY_MS);
  timer.unref();
  adjust(false);

  return {
    stats,
    stop() {
      unwatch();
      clearInterval(timer);
      if (stats.last?.compact) v8.setFlagsFromString('--no-optimize-for-size');
    },
  };
}
