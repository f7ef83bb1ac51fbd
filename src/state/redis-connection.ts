/**
 * The detector's Redis client. ioredis reconnects on its own through an outage and reports each
 * failed attempt as an `error` event; unheard, those become raw "Unhandled error event" lines on
 * stderr. Here they go to the JSON log, once per distinct failure, with a line when Redis is back.
 */
import { Redis, type Cluster } from 'ioredis';
import type { Logger } from '../ops/logger.ts';

export function createRedisClient(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: false, lazyConnect: true });
  let failing: string | undefined;
  redis.on('error', (err: Error) => {
    if (err.message !== failing) logger.warn({ err: err.message }, 'Redis connection failed; reconnecting');
    failing = err.message;
  });
  redis.on('ready', () => {
    if (failing !== undefined) logger.info('Redis connection restored');
    failing = undefined;
  });
  return redis;
}

/**
 * Closes a client a store owns: QUIT, so replies in flight still arrive; a client already gone (or
 * never connected) is simply dropped.
 */
export async function quitRedis(redis: Redis | Cluster): Promise<void> {
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}
