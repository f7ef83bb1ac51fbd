/**
 * Set-up file of the "integration" project: after each test file, the Redis keys of the detectors
 * it ran are deleted. A detector started on a name from uniqueName keeps its state under that
 * name (`--state-prefix`); the Redis on this machine outlives the run, and each CI run used to
 * leave some 15,000 such keys in it. Tests that use uniquePrefix clean up their own.
 */
import { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import { deleteKeysWithPrefix, redisUrl } from './redis-state.ts';
import { uniqueNamesMade } from './stack-env.ts';

afterAll(async () => {
  const names = uniqueNamesMade();
  if (names.length === 0) return;
  const redis = new Redis(redisUrl(), { lazyConnect: true, maxRetriesPerRequest: 1 });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    for (const name of names) await deleteKeysWithPrefix(redis, name);
  } catch {
    // A test that stopped Redis on purpose, or a Redis gone: nothing to clean, and no reason to fail.
  } finally {
    redis.disconnect();
  }
});
