/**
 * The idle partitions' timer passes (idle-timers.ts): one round at a time, kicks during a round
 * asking for one more, stop letting the rounds asked for finish, and a failed pass looked at again
 * by the next round even if the watermark has not moved.
 */
import { describe, expect, it } from 'vitest';
import { createIdleTimerPasses } from '../../src/consumers/idle-timers.ts';

function setUp(failOnce?: number) {
  const fired: number[] = [];
  const looks: boolean[] = [];
  let failing = failOnce;
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const passes = createIdleTimerPasses({
    owned: () => [0, 1, 2],
    ready: async () => undefined,
    due: async (partitions, again) => {
      looks.push(again);
      return partitions.filter((p) => p !== 1);
    },
    fire: async (partition) => {
      await gate;
      if (partition === failing) {
        failing = undefined;
        throw new Error('broker away');
      }
      fired.push(partition);
    },
    tickMs: 0,
  });
  const hold = () => (gate = new Promise<void>((resolve) => (release = resolve)));
  return { passes, fired, looks, hold, release: () => release() };
}

describe('idle partition timer passes', () => {
  it('runs one round at a time; kicks during a round ask for one more; stop lets it finish', async () => {
    const { passes, fired, looks, hold, release } = setUp();
    hold();
    passes.kick();
    passes.kick();
    passes.kick();
    const stopped = passes.stop();
    // Kicks after stop are ignored.
    passes.kick();
    release();
    await stopped;
    expect(fired).toEqual([0, 2, 0, 2]);
    expect(looks).toEqual([false, false]);
  });

  it('looks again after a failed pass, even with nothing moved', async () => {
    const { passes, fired, looks } = setUp(2);
    passes.kick();
    // The first round (partition 2's pass fails) is over once its promises have settled.
    await new Promise((resolve) => setImmediate(resolve));
    passes.kick();
    await passes.stop();
    expect(fired).toEqual([0, 0, 2]);
    expect(looks).toEqual([false, true]);
  });
});
