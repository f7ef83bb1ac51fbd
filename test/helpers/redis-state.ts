/**
 * Redis test helpers: a unique key prefix per test, so tests never see each other's keys, and the
 * clean-up that removes them afterwards, on a single Redis or on every master of a Cluster.
 */
import { randomUUID } from 'node:crypto';
import { Redis, type Cluster } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

export const redisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export const uniquePrefix = (label = 'test'): string => `ree-${label}-${randomUUID().slice(0, 8)}`;

async function scanKeys(node: Redis, pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    found.push(...keys);
    cursor = next;
  } while (cursor !== '0');
  return found;
}

/** Deletes every key under `${prefix}:`; returns how many were deleted. */
export async function deleteKeysWithPrefix(redis: Redis | Cluster, prefix: string): Promise<number> {
  // A prefix is matched literally: escape what SCAN's glob would read as a pattern.
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  let deleted = 0;
  for (const node of nodes) {
    const keys = await scanKeys(node, pattern);
    // One key per command: a Cluster refuses DEL across slots, and keys were found on this node.
    for (const key of keys) deleted += await node.unlink(key);
  }
  return deleted;
}

/** Every key under `${prefix}:`, sorted; for tests that look at the layout. */
export async function keysWithPrefix(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;
  const nodes = redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis];
  const all: string[] = [];
  for (const node of nodes) all.push(...(await scanKeys(node, pattern)));
  return all.sort();
}

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
