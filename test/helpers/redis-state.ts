/**
 * Redis test helpers: a unique key prefix per test, so tests never see each other's keys, and the
 * clean-up that removes them afterwards, on a single Redis or on every master of a Cluster.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { deleteNamespace, keysInNamespace } from '../../src/state/redis-namespace.ts';
import { afterAll, beforeAll } from 'vitest';

export const redisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniquePrefix = (label = 'test'): string => `ree-${label}-${randomUUID().slice(0, 8)}`;

/** Deletes every key under `${prefix}:`; returns how many were deleted. */
export const deleteKeysWithPrefix = deleteNamespace;

/** Every key under `${prefix}:`, sorted; for tests that look at the layout. */
export const keysWithPrefix = keysInNamespace;

/**
 * One connection to the test Redis for a whole test file, opened before its tests and closed
 * after. Call at the top level; the getter gives the connection inside tests and factories.
 */
export function useTestRedis(): () => Redis {
  let redis: Redis | undefined;
  beforeAll(async () => {
    redis = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
    await redis.ping();
  });
  afterAll(async () => {
    await redis?.quit();
  });
  return () => {
    if (!redis) throw new Error('the test Redis is only connected while tests run');
    return redis;
  };
}
