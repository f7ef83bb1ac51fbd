/**
 * How far V8 lets the heap grow beyond what a replay keeps alive. After each full GC, V8 sets the
 * next one at the live heap times a growing factor it picks itself, up to 4× for a fast-allocating
 * program on a machine with memory to spare, and the heap pages it fills up to that limit stay in
 * the process's RSS. A replay allocates fast (a parsed line, a report, a batch's results, almost
 * all short-lived) while what it keeps grows slowly (the producers' state), so V8 picks a large
 * factor: the peak RSS of the 1 M-record replay was ~3× its live heap (bench/README.md).
 *
 * A fixed growing factor instead of a heap limit: a limit sized too small kills the replay with an
 * out-of-memory error, and a replay's live state depends on its producers and its rules, not only
 * on its size; a factor makes the heap follow the live state at any size and can never make a
 * replay fail. It costs CPU (more full GCs: each one when the live heap has grown by the percent),
 * measured in bench/README.md (section `rss`).
 */
import v8 from 'node:v8';
import { keepMemoryUnderBudget, type MemoryBudget } from './memory-budget.ts';

/**
 * The heap may grow to the live heap plus this percent before the next full GC; 0 leaves the choice
 * to V8. The default is V8's: at 1 M records, 30 % took the peak RSS from ~1.1-1.5 GB to ~0.75-0.8 GB
 * but cost 1.12-1.40x the CPU (bench/README.md, section `rss`), and a replay is more often waited
 * for than short of memory. `--heap-growth 30` is the setting for a machine short of memory.
 */
export const REPLAY_HEAP_GROWTH_PERCENT = 0;

/**
 * Sets V8's heap growing factor for the rest of this process (0: V8's own choice). A V8 flag set at
 * run time: V8 reads this one at each full GC, so it takes effect from the next one.
 */
export function setHeapGrowth(percent: number): void {
  if (!Number.isInteger(percent) || percent < 0) throw new RangeError(`heap growth must be a whole percent >= 0, got ${percent}`);
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * How a replay (the CLI's, or a bench:replay child's) sizes its heap: under a memory budget when
 * one is given (memory-budget.ts), else at a fixed growth. `warn` gets the one line a budget the
 * live state outgrows gives. Returns the budget to stop when the replay ends, if one was started.
 */
export function sizeReplayHeap(options: { heapGrowth: number; memoryBudgetMb?: number | undefined; warn: (message: string) => void }): MemoryBudget | undefined {
  const { memoryBudgetMb } = options;
  if (memoryBudgetMb === undefined) {
    setHeapGrowth(options.heapGrowth);
    return undefined;
  }
  return keepMemoryUnderBudget(memoryBudgetMb, {
    onOverBudget: (r) =>
      options.warn(
        `the live heap (${Math.round(r.heapUsed / 1048576)} MB after a full GC) leaves no room in the memory budget of ${memoryBudgetMb} MB; going on at the smallest heap growth, slowly (a larger --memory-budget is faster)`,
      ),
  });
}
