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
  const watermarks: (number | undefined)[] = [];
  let failing = failOnce;
  let release: () => void = () => undefined;
  let gate = Promise.resolve();
  const passes = createIdleTimerPasses({
    owned: () => [0, 1, 2],
    ready: async () => undefined,
    due: async (partitions, again, known) => {
      looks.push(again);
      watermarks.push(known);
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
  return { passes, fired, looks, watermarks, hold, release: () => release() };
}

describe('idle partition timer passes', () => {
  it('runs one round at a time; kicks during a round ask for one more; stop lets it finish', async () => {
    const { passes, fired, looks, hold, release } = setUp();
    hold();
    passes.kick();
    // The round has looked and waits in its passes: these ask for one more round between them.
    await new Promise((resolve) => setImmediate(resolve));
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

  it("hands a round the highest watermark its kicks brought; kicks before it looks need no round of their own", async () => {
    const { passes, watermarks, fired } = setUp();
    passes.kick(5);
    passes.kick(7);
    passes.kick(6);
    await passes.stop();
    expect(watermarks).toEqual([7]);
    expect(fired).toEqual([0, 2]);
  });

  it('reads the watermark (none handed) if any kick brought none, as the slow tick does', async () => {
    const { passes, watermarks } = setUp();
    passes.kick(9);
    passes.kick();
    passes.kick(10);
    await passes.stop();
    expect(watermarks).toEqual([undefined]);
  });

  it('asks for one more round, with its watermark, for a kick after the round has looked', async () => {
    const { passes, watermarks, hold, release } = setUp();
    hold();
    passes.kick(5);
    await new Promise((resolve) => setImmediate(resolve));
    passes.kick(8);
    release();
    await passes.stop();
    expect(watermarks).toEqual([5, 8]);
  });

  it('flushes: a round that reads the watermark now, awaited, even with no kick since the last round', async () => {
    const { passes, watermarks, fired } = setUp();
    passes.kick(5);
    await new Promise((resolve) => setImmediate(resolve));
    await passes.flush();
    expect(watermarks).toEqual([5, undefined]);
    expect(fired).toEqual([0, 2, 0, 2]);
    await passes.stop();
  });

  it('a flush during a round waits for the round it adds after it', async () => {
    const { passes, watermarks, fired, hold, release } = setUp();
    hold();
    passes.kick(5);
    await new Promise((resolve) => setImmediate(resolve));
    const flushed = passes.flush();
    release();
    await flushed;
    expect(watermarks).toEqual([5, undefined]);
    expect(fired).toEqual([0, 2, 0, 2]);
    await passes.stop();
  });
});
