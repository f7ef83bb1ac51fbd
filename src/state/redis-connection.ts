/**
 * The detector's Redis client. ioredis reconnects on its own through an outage and reports each
 * failed attempt as an `error` event; unheard, those become raw "Unhandled error event" lines on
 * stderr. Here they go to the JSON log, once per distinct failure, with a line when Redis is back.
 *
 * A `connect()` that fails rejects with ioredis's bare "Connection is closed."; the client's own
 * `connect` here rejects with the error that closed it instead (`connect ECONNREFUSED …`,
 * `getaddrinfo ENOTFOUND …`, `connect ETIMEDOUT`), so a refused start-up names the real reason.
 */
import { Redis, type Cluster } from 'ioredis';
import type { Logger } from '../ops/logger.ts';
import { sendGathered } from './redis-pipelines.ts';

export function createRedisClient(url: string, logger: Logger): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 3, enableAutoPipelining: false, lazyConnect: true });
  let failing: string | undefined;
  /** The last error ioredis reported since the latest connect() began (ioredis's reconnects call it too). */
  let attemptError: Error | undefined;
  /**
   * Until the first connection is ready, a failure is the start-up's to report: connect() rejects
   * with it, and the caller refuses to start naming it. Logged as "reconnecting" there, it read as
   * though the process would keep trying, the line before the one saying it gave up.
   */
  let wasReady = false;
  redis.on('error', (err: Error) => {
    attemptError = err;
    if (!wasReady) logger.debug({ err: err.message }, 'Redis connection failed');
    else if (err.message !== failing) logger.warn({ err: err.message }, 'Redis connection failed; reconnecting');
    failing = err.message;
  });
  redis.on('ready', () => {
    if (failing !== undefined && wasReady) logger.info('Redis connection restored');
    wasReady = true;
    failing = undefined;
  });
  const connect = redis.connect.bind(redis);
  redis.connect = (callback) => {
    attemptError = undefined;
    return connect(callback).catch((err: unknown) => {
      throw connectFailure(err, attemptError);
    });
  };
  return redis;
}

/** ioredis's message for a connection that closed, whatever closed it. */
const CONNECTION_CLOSED = 'Connection is closed.';

/**
 * What a failed connect() rejects with: the error the connection failed with, when ioredis only
 * says that it closed ("Connection is closed."); anything else (already connecting, say) as it is.
 */
export function connectFailure(rejection: unknown, lastError: Error | undefined): unknown {
  const closed = rejection instanceof Error && rejection.message === CONNECTION_CLOSED;
  return closed && lastError ? lastError : rejection;
}

/**
 * Closes a client a store owns: QUIT, so replies in flight still arrive; a client already gone (or
 * never connected) is simply dropped.
 */
export async function quitRedis(redis: Redis | Cluster): Promise<void> {
  // Already closed: QUIT would be refused, and disconnecting then holds the process (closeRedis).
  if (redis.status === 'end') return;
  // Calls of this tick not sent yet go first: QUIT, sent at once, would overtake them.
  sendGathered(redis);
  try {
    await redis.quit();
  } catch {
    redis.disconnect();
  }
}

/** How long closeRedis waits for a socket to close before it gives up waiting (ioredis destroys it at 2 s). */
const CLOSE_WAIT_MS = 2_500;

/**
 * Disconnects a client and resolves once its socket has closed. Not one that has ended already:
 * ioredis would start a 2 s timer for a close event that came and went, and hold the process that
 * long. One with no socket open (never connected, or between two reconnection attempts) closes at
 * once and is not waited for: no close event would come.
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  sendGathered(redis);
  const open = redis.status === 'ready' || redis.status === 'connect' || redis.status === 'connecting';
  if (!open) {
    redis.disconnect();
    return;
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, CLOSE_WAIT_MS);
    redis.once('end', () => {
      clearTimeout(timer);
      resolve();
    });
    redis.disconnect();
  });
}
