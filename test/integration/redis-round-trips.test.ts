/**
 * Calls to Redis made in the same tick share one round trip (src/state/redis-pipelines.ts), on a
 * real Redis: each call still gets its own replies, runs after the calls made before it, and fails
 * alone when only its own command is refused.
 */
import type { Redis } from 'ioredis';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { sendCommands } from '../../src/state/redis-commands.ts';
import { quitRedis } from '../../src/state/redis-connection.ts';
import { execPipelined, type QueuedCommand } from '../../src/state/redis-pipelines.ts';
import { deleteKeysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
const prefix = uniquePrefix('round-trips');
const key = (name: string) => `${prefix}:${name}`;

const set = (name: string, value: string): QueuedCommand => ({ key: key(name), queue: (p) => p.set(key(name), value) });
const get = (name: string): QueuedCommand => ({ key: key(name), queue: (p) => p.get(key(name)) });
const incr = (name: string): QueuedCommand => ({ key: key(name), queue: (p) => p.incr(key(name)) });

afterAll(async () => {
  await deleteKeysWithPrefix(testRedis(), prefix);
});

/** A client of its own, with the pipelines made on it counted (one per round trip). */
async function withClient(test: (redis: Redis, pipelines: () => number) => Promise<void>): Promise<void> {
  const redis: Redis = testRedis().duplicate();
  const pipelines = vi.spyOn(redis, 'pipeline');
  try {
    await test(redis, () => pipelines.mock.calls.length);
  } finally {
    redis.disconnect();
  }
}

describe('calls made in the same tick', () => {
  it('go out as one pipeline, each call getting its own replies in its own order', () =>
    withClient(async (redis, pipelines) => {
      const [first, second, third] = await Promise.all([
        execPipelined(redis, [set('a', '1'), get('a')]),
        execPipelined(redis, [get('a'), set('b', '2'), get('b')]),
        execPipelined(redis, [get('b')]),
      ]);
      expect(pipelines()).toBe(1);
      expect(first).toEqual([[null, 'OK'], [null, '1']]);
      // The second call's commands run after the first's, as two pipelines sent in turn did.
      expect(second).toEqual([[null, '1'], [null, 'OK'], [null, '2']]);
      expect(third).toEqual([[null, '2']]);
    }));

  it('also gathers a call made in a promise callback of the same tick', () =>
    withClient(async (redis, pipelines) => {
      const later = Promise.resolve().then(() => execPipelined(redis, [get('c')]));
      const first = execPipelined(redis, [set('c', 'now')]);
      expect(await later).toEqual([[null, 'now']]);
      expect(await first).toEqual([[null, 'OK']]);
      expect(pipelines()).toBe(1);
    }));

  it('starts a new round trip for a call made after the replies came', () =>
    withClient(async (redis, pipelines) => {
      await execPipelined(redis, [set('d', 'x')]);
      expect(await execPipelined(redis, [get('d')])).toEqual([[null, 'x']]);
      expect(pipelines()).toBe(2);
    }));

  it('fails only the call whose command Redis refused', () =>
    withClient(async (redis) => {
      await execPipelined(redis, [set('text', 'not a number')]);
      const [refused, fine] = await Promise.allSettled([
        sendCommands(redis, 'count the text', [incr('text')]),
        sendCommands(redis, 'count the counter', [incr('counter'), incr('counter')]),
      ]);
      expect(refused.status).toBe('rejected');
      expect((refused as PromiseRejectedResult).reason.message).toMatch(/could not count the text: .*not an integer/);
      expect(fine).toEqual({ status: 'fulfilled', value: [1, 2] });
    }));

  it('fails only the call with a command that could not be queued', () =>
    withClient(async (redis) => {
      const broken: QueuedCommand = {
        key: key('broken'),
        queue: () => {
          throw new Error('no such script on this connection');
        },
      };
      const [failed, fine] = await Promise.allSettled([
        sendCommands(redis, 'save the broken one', [broken]),
        sendCommands(redis, 'save the other one', [set('other', 'kept')]),
      ]);
      expect((failed as PromiseRejectedResult).reason.message).toMatch(/could not save the broken one: no such script/);
      expect(fine).toEqual({ status: 'fulfilled', value: ['OK'] });
      expect(await redis.get(key('other'))).toBe('kept');
    }));

  it('sends what was gathered before a QUIT of the same tick', async () => {
    const redis: Redis = testRedis().duplicate();
    await redis.ping();
    const written = execPipelined(redis, [set('before-quit', 'written')]);
    await quitRedis(redis);
    expect(await written).toEqual([[null, 'OK']]);
    expect(await testRedis().get(key('before-quit'))).toBe('written');
  });

  it('fails every call sharing the round trip when the connection is gone', async () => {
    const redis: Redis = testRedis().duplicate({ maxRetriesPerRequest: 0, enableOfflineQueue: false, lazyConnect: true });
    await redis.connect();
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
    const outcomes = await Promise.allSettled([
      sendCommands(redis, 'read a', [get('a')]),
      sendCommands(redis, 'read b', [get('b')]),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['rejected', 'rejected']);
    expect((outcomes[0] as PromiseRejectedResult).reason.message).toMatch(/could not read a/);
    expect((outcomes[1] as PromiseRejectedResult).reason.message).toMatch(/could not read b/);
  });
});
