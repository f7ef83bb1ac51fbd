/**
 * The state store a command runs on: in memory by default, or Redis when a URL is given. A replay
 * against Redis gets a namespace of its own so earlier runs cannot leak into its results.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { ReeError } from '../errors.ts';
import { createEngineMemoryStore, createEngineRedisStore, type EngineStore } from '../state/engine-store.ts';
import { closeRedis } from '../state/redis-connection.ts';
import { deleteNamespace } from '../state/redis-namespace.ts';
import { shownUrl } from '../config/shown-url.ts';

export interface OpenedStore {
  store: EngineStore;
  description: string;
  /** Closes connections and, for a throwaway Redis namespace, deletes its keys. */
  dispose(): Promise<void>;
}

/** Connects, or disconnects and says in one line why Redis cannot be reached. */
async function connectOrExplain(redis: Redis, redisUrl: string): Promise<void> {
  let lastError: Error | undefined;
  redis.on('error', (err: Error) => {
    lastError = err;
  });
  try {
    await redis.connect();
  } catch (err) {
    redis.disconnect();
    throw new ReeError('REE_ERR_STATE', `cannot reach Redis at ${shownUrl(redisUrl)}: ${(lastError ?? (err as Error)).message}`, { retriable: true });
  }
}

export async function openStore(redisUrl: string | undefined, options: { keep?: boolean; prefix?: string } = {}): Promise<OpenedStore> {
  if (!redisUrl) {
    const store = createEngineMemoryStore();
    return { store, description: 'in-memory state', dispose: () => store.close() };
  }
  const prefix = options.prefix ?? `ree-replay-${randomUUID().slice(0, 8)}`;
  // A replay is a batch job: give up on an unreachable Redis after a few tries instead of
  // reconnecting forever, and say so in one line.
  const connection = { lazyConnect: true, maxRetriesPerRequest: 3, retryStrategy: (times: number) => (times > 3 ? null : Math.min(times * 200, 1000)) };
  // Loaded here, not at the top: an in-memory replay never needs it, and loading it took about
  // 0.2 CPU s of every replay's start-up (bench/README.md, section `cpu6`).
  const { Redis } = await import('ioredis');
  const redis = new Redis(redisUrl, connection);
  await connectOrExplain(redis, redisUrl);
  // A replay's alerts do not wait on durability (its namespace is its own): state is saved at the
  // replay's checkpoints only (replay.ts, checkpointEvery), and the next batches are worked on while
  // Redis applies a save, sent on a connection of its own so their reads do not queue behind it;
  // replayLines settles the saves before it returns.
  const saves = redis.duplicate();
  try {
    await connectOrExplain(saves, redisUrl);
  } catch (err) {
    redis.disconnect();
    throw err;
  }
  const cleaner = options.keep ? undefined : redis.duplicate();
  cleaner?.on('error', () => undefined);
  const store = createEngineRedisStore({ redis, prefix, overlapSaves: true, deferSaves: true, engineRedis: saves });
  return {
    store,
    description: `Redis ${shownUrl(redisUrl)} (key prefix ${prefix})`,
    async dispose() {
      try {
        // A replay that failed part-way may still have checkpoint saves on the wire: they must land
        // before the namespace is deleted, or they would leave keys behind it.
        await store.engine.savesDone();
        await store.close();
        if (cleaner) await deleteNamespace(cleaner, prefix);
      } finally {
        // Connections are closed whatever happened, or the process would never exit, and disposing
        // ends once they have (closeRedis: not the one the store has quit already).
        await Promise.all([redis, saves, cleaner].map((connection) => (connection ? closeRedis(connection) : undefined)));
      }
    },
  };
}
