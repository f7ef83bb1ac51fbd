/**
 * The detector's Redis client. ioredis reconnects on its own through an outage and reports each
 * failed attempt as an `error` event; unheard, those become raw "Unhandled error event" lines on
 * stderr. Here they go to the JSON log, once per distinct failure, with a line when Redis is back.
 *
 * A `connect()` that fails rejects with ioredis's bare "Connection is closed."; the client's own
 * `connect` here rejects with the error that closed it instead (`connect ECONNREFUSED …`,
 * `getaddrinfo ENOTFOUND …`, `connect ETIMEDOUT`), so a refused start-up names the real reason.
 *
 * Apart from redis-connection.ts (closing clients), which the stores import: only what makes a
 * client loads ioredis itself.
 */
import { Redis } from 'ioredis';
import type { Logger } from '../ops/logger.ts';

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
