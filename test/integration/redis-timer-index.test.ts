/**
 * The timer index in Redis (src/state/redis-timer-index.ts): what several partitions have due is
 * read in one look, the same as asking each partition in turn; a set under an older ownership
 * epoch (a paused instance's, late) leaves what a newer owner has set.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisTimerIndex } from '../../src/state/redis-timer-index.ts';
import { deleteKeysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
const prefix = uniquePrefix('timer-index');

afterAll(async () => {
  await deleteKeysWithPrefix(testRedis(), prefix);
  await deleteKeysWithPrefix(testRedis(), `${prefix}-fenced`);
});

describe('the Redis timer index', () => {
  it('answers several partitions in one look, each as due() would, with an empty list for a partition with nothing due', async () => {
    const index = createRedisTimerIndex({ redis: testRedis(), prefix });
    await index.set([
      { partition: 0, producerId: 'P2', dueAt: 10 },
      { partition: 0, producerId: 'P1', dueAt: 20 },
      { partition: 0, producerId: 'P9', dueAt: 99 },
      { partition: 1, producerId: 'P5', dueAt: -Infinity },
      { partition: 2, producerId: 'P7', dueAt: 50 },
    ]);
    const due = await index.dueIn([0, 1, 2, 3], 20);
    expect([...due]).toEqual([
      [0, ['P1', 'P2']],
      [1, ['P5']],
      [2, []],
      [3, []],
    ]);
    for (const p of [0, 1, 2, 3]) expect(due.get(p)).toEqual(await index.due(p, 20));
    expect(await index.dueIn([], 20)).toEqual(new Map());
  });

  it("leaves an entry a newer owner has set to a late set under an older epoch, removals included, and takes an older epoch's set where no newer one has been", async () => {
    const index = createRedisTimerIndex({ redis: testRedis(), prefix: `${prefix}-fenced` });
    const OLD = 7;
    const NEW = 8;
    // The newer owner ran P1 and P2 after loading them: P1's next timer at 40, P2 has one at 30.
    await index.set([{ partition: 0, producerId: 'P1', dueAt: 40 }, { partition: 0, producerId: 'P2', dueAt: 30 }], NEW);
    // The paused instance's sets from before it lost them arrive now: P1 later, P2 removed; P3 it still had alone.
    await index.set([{ partition: 0, producerId: 'P1', dueAt: 90 }, { partition: 0, producerId: 'P2', dueAt: undefined }, { partition: 0, producerId: 'P3', dueAt: 60 }], OLD);
    expect(await index.due(0, 100)).toEqual(['P1', 'P2', 'P3']);
    expect(await index.due(0, 45)).toEqual(['P1', 'P2']);
    // The newer owner's own sets still go through, a removal too; so do a later epoch's.
    await index.set([{ partition: 0, producerId: 'P2', dueAt: undefined }], NEW);
    await index.set([{ partition: 0, producerId: 'P3', dueAt: 20 }], NEW + 1);
    expect(await index.due(0, 100)).toEqual(['P1', 'P3']);
    expect(await index.due(0, 20)).toEqual(['P3']);
    expect(await index.partitions()).toEqual([0]);
  });
});
