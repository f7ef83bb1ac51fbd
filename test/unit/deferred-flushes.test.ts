/** The per-index flush of deferred offsets (deferred-flushes.ts), on fake timers. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDeferredFlushes } from '../../src/consumers/deferred-flushes.ts';

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

/** `failing`: a flush leaves what was deferred in place, as a failed one does. */
function setUp(intervalMs = 1_000, failing = false) {
  const deferred = new Set<number>([0, 1]);
  const flushed: number[] = [];
  const running: (() => void)[] = [];
  const flushes = createDeferredFlushes({
    intervalMs,
    deferred: (p) => deferred.has(p),
    flush: (p) =>
      new Promise<void>((resolve) => {
        flushed.push(p);
        running.push(() => resolve(failing ? undefined : void deferred.delete(p)));
      }),
    onError: () => undefined,
  });
  return { flushes, deferred, flushed, finish: async () => (running.splice(0).forEach((done) => done()), await vi.advanceTimersByTimeAsync(0)) };
}

describe('deferred flushes', () => {
  it('flush an index once the interval has run, one at a time however often it is scheduled', async () => {
    const { flushes, flushed, finish } = setUp();
    flushes.schedule(0);
    flushes.schedule(0);
    await vi.advanceTimersByTimeAsync(999);
    expect(flushed).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushed).toEqual([0]);
    await finish();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flushed).toEqual([0]);
  });

  it('schedule nothing for an index with nothing deferred, or at interval 0', async () => {
    const { flushes, flushed } = setUp();
    flushes.schedule(2);
    const off = setUp(0);
    off.flushes.schedule(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flushed).toEqual([]);
    expect(off.flushed).toEqual([]);
  });

  it('go again after a flush that left something deferred (a failed one)', async () => {
    const { flushes, flushed, finish } = setUp(1_000, true);
    flushes.schedule(1);
    await vi.advanceTimersByTimeAsync(1_000);
    await finish();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(flushed).toEqual([1, 1]);
  });

  it('are dropped by cancel, and one running is not followed by another', async () => {
    const { flushes, flushed, finish } = setUp(1_000, true);
    flushes.schedule(0);
    await vi.advanceTimersByTimeAsync(1_000);
    flushes.schedule(1);
    flushes.cancel();
    // The running flush of 0 leaves it deferred, which would schedule another but for the cancel.
    await finish();
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flushed).toEqual([0]);
    // Scheduled again after the cancel (the next assignment's passes): it goes.
    flushes.schedule(1);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(flushed).toEqual([0, 1]);
  });

  it('schedule nothing once stopped', async () => {
    const { flushes, flushed } = setUp();
    flushes.stop();
    flushes.schedule(0);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(flushed).toEqual([]);
  });
});
