/**
 * The replay's memory budget (src/cli/memory-budget.ts): the heap setting it picks for a reading
 * of the process's memory, and the V8 flags it sets from it. V8 is stubbed: the flags would stay
 * set in the test worker.
 */
import { describe, expect, it, vi } from 'vitest';

const flags = vi.hoisted(() => [] as string[]);
vi.mock('node:v8', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:v8')>();
  const setFlagsFromString = (text: string) => void flags.push(text);
  return { ...real, default: { ...real, setFlagsFromString }, setFlagsFromString };
});

const { heapSettingFor, keepMemoryUnderBudget } = await import('../../src/cli/memory-budget.ts');

const MB = 1024 * 1024;
const reading = (rssMb: number, heapTotalMb: number, heapUsedMb: number) => ({ rss: rssMb * MB, heapTotal: heapTotalMb * MB, heapUsed: heapUsedMb * MB });

describe('heapSettingFor', () => {
  it('early in a replay, far under the budget: lets V8 grow the heap freely and does not compact', () => {
    // 60 MB outside the heap, 20 MB in use: 380 - 60 - 34 - 20 = 266 MB of room, 13x the heap in use.
    expect(heapSettingFor(reading(90, 30, 20), 380 * MB)).toEqual({ growthPercent: 300, compact: false, overBudget: false });
  });

  it('sizes the growth to the room left: 0.7 of it, as a percent of the heap in use', () => {
    // 380 - 60 - 34 - 200 = 86 MB of room over 200 MB in use: 0.7 * 43 % = 30 %.
    const s = heapSettingFor(reading(300, 240, 200), 380 * MB);
    expect(s.growthPercent).toBe(30);
    expect(s.overBudget).toBe(false);
  });

  it('compacts once the RSS nears the budget, or the room is under half the heap in use', () => {
    expect(heapSettingFor(reading(310, 240, 200), 380 * MB).compact).toBe(true); // 310 > 0.8 * 380
    expect(heapSettingFor(reading(300, 240, 200), 380 * MB).compact).toBe(true); // room 86 < 100
    expect(heapSettingFor(reading(200, 140, 100), 380 * MB).compact).toBe(false); // 200 < 304, room 186 > 50
  });

  it('a heap in use beyond what the budget can hold: the smallest growth, compaction, and over budget', () => {
    expect(heapSettingFor(reading(500, 420, 400), 380 * MB)).toEqual({ growthPercent: 5, compact: true, overBudget: true });
  });
});

describe('keepMemoryUnderBudget', () => {
  it('sets V8 flags only when the setting changes, tells once when the live heap is over budget, and turns compaction off at stop', () => {
    vi.useFakeTimers();
    try {
      flags.length = 0;
      // Read every half second and after each full GC: far under, the same again, near the budget, past it three times.
      const readings = [reading(90, 30, 20), reading(90, 30, 20), reading(300, 240, 200), reading(500, 420, 400), reading(510, 425, 405), reading(520, 430, 410)];
      let i = 0;
      const over: number[] = [];
      let fullGc: (() => void) | undefined;
      let watching = false;
      const budget = keepMemoryUnderBudget(380, {
        read: () => readings[Math.min(i++, readings.length - 1)]!,
        onOverBudget: (r) => over.push(r.heapUsed / MB),
        watchFullGcs: (onFullGc) => {
          fullGc = onFullGc;
          watching = true;
          return () => void (watching = false);
        },
      });
      expect(flags).toEqual(['--heap-growing-percent=300', '--no-optimize-for-size']);
      vi.advanceTimersByTime(500); // the same reading: nothing set
      expect(flags).toHaveLength(2);
      vi.advanceTimersByTime(500);
      expect(flags.slice(2)).toEqual(['--heap-growing-percent=30', '--optimize-for-size']);
      // Over the budget between GCs (garbage counts in the heap in use): steered, not told.
      vi.advanceTimersByTime(500);
      expect(flags.slice(4)).toEqual(['--heap-growing-percent=5']);
      expect(over).toEqual([]);
      // Over it right after a full GC: the live state itself. Told once.
      fullGc!();
      fullGc!();
      expect(over).toEqual([405]);
      expect(budget.stats.changes).toBe(3);
      budget.stop();
      expect(watching).toBe(false);
      expect(flags.at(-1)).toBe('--no-optimize-for-size');
      vi.advanceTimersByTime(5_000); // stopped: no more readings
      expect(i).toBe(6);
    } finally {
      vi.useRealTimers();
    }
  });

  it('refuses a budget under 100 MB or not whole, before setting anything', () => {
    flags.length = 0;
    for (const bad of [99, 0, -1, 250.5]) expect(() => keepMemoryUnderBudget(bad)).toThrow(/memory budget must be a whole number of MB >= 100/);
    expect(flags).toEqual([]);
  });
});
