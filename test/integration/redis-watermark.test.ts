/**
 * The shared watermark (src/state/redis-watermark.ts) as a new instance sees it: `run` loads it on
 * every assignment, so the first batch's RuleInput.watermark is the group's, not -Infinity.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisWatermark } from '../../src/state/redis-watermark.ts';
import { deleteKeysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
const prefix = uniquePrefix('watermark-load');
const HOUR = 3_600_000;

afterAll(async () => {
  await deleteKeysWithPrefix(testRedis(), prefix);
});

describe('loading the shared watermark', () => {
  it('gives a new instance the watermark other instances have moved, and records nothing itself', async () => {
    const options = { redis: testRedis(), prefix, allowedLatenessMs: 72 * HOUR };
    const first = createRedisWatermark(options);
    await first.advance(new Map([['p0', 1_000 * HOUR], ['p1', 900 * HOUR]]));
    const joining = createRedisWatermark(options);
    expect(joining.current()).toBe(-Infinity);
    expect(await joining.load()).toBe(828 * HOUR);
    expect(joining.current()).toBe(828 * HOUR);
    // Loading added no source of its own: the minimum is still p1's.
    expect(await first.advance(new Map([['p1', 950 * HOUR]]))).toBe(878 * HOUR);
    expect(await joining.load()).toBe(878 * HOUR);
  });

  it('is -Infinity where no instance has read anything yet', async () => {
    expect(await createRedisWatermark({ redis: testRedis(), prefix: uniquePrefix('watermark-empty'), allowedLatenessMs: 0 }).load()).toBe(-Infinity);
  });
});
