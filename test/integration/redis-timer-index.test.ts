/**
 * The timer index in Redis (src/state/redis-timer-index.ts): what several partitions have due is
 * read in one look, the same as asking each partition in turn.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisTimerIndex } from '../../src/state/redis-timer-index.ts';
import { deleteKeysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
const prefix = uniquePrefix('timer-index');

afterAll(async () => {
  await deleteKeysWithPrefix(testRedis(), prefix);
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
});
