/**
 * A key namespace (every key under `${prefix}:`) as a whole: listed or deleted, on a single Redis or
 * on every master of a Cluster. The embedded replay deletes its namespace when it ends; tests and
 * benches clean up after themselves the same way.
 */
import type { Cluster, Redis } from 'ioredis';

/** SCAN's glob for the namespace, with the prefix matched literally. */
const patternOf = (prefix: string): string => `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`;

const nodesOf = (redis: Redis | Cluster): Redis[] => (redis.isCluster ? (redis as Cluster).nodes('master') : [redis as Redis]);

/** Walks one node's keys of the pattern, a SCAN page at a time. */
async function forEachPage(node: Redis, pattern: string, page: (keys: string[]) => Promise<void>): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length > 0) await page(keys);
    cursor = next;
  } while (cursor !== '0');
}

/** Every key under `${prefix}:`, sorted. */
export async function keysInNamespace(redis: Redis | Cluster, prefix: string): Promise<string[]> {
  const all: string[] = [];
  for (const node of nodesOf(redis)) {
    await forEachPage(node, patternOf(prefix), async (keys) => {
      all.push(...keys);
    });
  }
  // SCAN may return a key more than once.
  return [...new Set(all)].sort();
}

/** Deletes every key under `${prefix}:` (UNLINK: freed in the background); returns how many were deleted. */
export async function deleteNamespace(redis: Redis | Cluster, prefix: string): Promise<number> {
  let deleted = 0;
  for (const node of nodesOf(redis)) {
    await forEachPage(node, patternOf(prefix), async (keys) => {
      // A Cluster refuses a multi-key command across slots: there, one key per command.
      if (!redis.isCluster) deleted += await node.unlink(...keys);
      else for (const key of keys) deleted += await node.unlink(key);
    });
  }
  return deleted;
}
