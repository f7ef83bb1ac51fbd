/**
 * The state store a command runs on: in memory by default, or Redis when a URL is given. A replay
 * against Redis gets a namespace of its own so earlier runs cannot leak into its results.
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { ReeError } from '../errors.ts';
import { createEngineMemoryStore, createEngineRedisStore } from '../state/engine-store.ts';
import { createMemoryStore } from '../state/memory-store.ts';
import { createRedisStore } from '../state/redis-store.ts';
import type { StateStore } from '../state/store.ts';

/**
 * Which state implementation: `v2` the state engine (src/state/engine/, the default: the balance
 * book and every rule's own state saved together), `v1` the Lua ledger and its in-memory twin,
 * kept for comparison only: with it, rules' own state lives in the process and is never saved.
 */
export type StateEngineVersion = 'v1' | 'v2';
export const STATE_ENGINE_VERSIONS: readonly StateEngineVersion[] = ['v1', 'v2'];

export function parseEngineVersion(value: string | undefined): StateEngineVersion {
  if (value === undefined) return 'v2';
  if ((STATE_ENGINE_VERSIONS as readonly string[]).includes(value)) return value as StateEngineVersion;
  throw new ReeError('REE_ERR_USAGE', `--engine must be one of ${STATE_ENGINE_VERSIONS.join(', ')}, got "${value}"`);
}

export interface OpenedStore {
  store: StateStore;
  description: string;
  /** Closes connections and, for a throwaway Redis namespace, deletes its keys. */
  dispose(): Promise<void>;
}

export async function openStore(redisUrl: string | undefined, options: { keep?: boolean; prefix?: string; engine?: StateEngineVersion } = {}): Promise<OpenedStore> {
  const v2 = options.engine === 'v2';
  if (!redisUrl) {
    const store = v2 ? createEngineMemoryStore() : createMemoryStore();
    return { store, description: v2 ? 'in-memory state (state engine v2)' : 'in-memory state', dispose: () => store.close() };
  }
  const prefix = options.prefix ?? `ree-replay-${randomUUID().slice(0, 8)}`;
  // A replay is a batch job: give up on an unreachable Redis after a few tries instead of
  // reconnecting forever, and say so in one line.
  const connection = { lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (times: number) => (times > 3 ? null : Math.min(times * 200, 1000)) };
  const redis = new Redis(redisUrl, connection);
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new ReeError('REE_ERR_STATE', `cannot reach Redis at ${redisUrl}: ${(lastError ?? (err as Error)).message}`, { retriable: true });
  }
  const cleaner = options.keep ? undefined : redis.duplicate();
  cleaner?.on('error', () => undefined);
  const store = v2 ? createEngineRedisStore({ redis, prefix }) : createRedisStore({ redis, prefix });
  return {
    store,
    description: `Redis ${redisUrl} (key prefix ${prefix}${v2 ? ', state engine v2' : ''})`,
    async dispose() {
      try {
        await store.close();
        if (cleaner) {
          let cursor = '0';
          do {
            const [next, keys] = await cleaner.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
            cursor = next;
            if (keys.length > 0) await cleaner.unlink(...keys);
          } while (cursor !== '0');
        }
      } finally {
        // Connections are closed whatever happened, or the process would never exit.
        redis.disconnect();
        cleaner?.disconnect();
      }
    },
  };
}
