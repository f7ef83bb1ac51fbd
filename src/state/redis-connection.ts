/**
 * Closing Redis clients (the detector's own is made by redis-client.ts). Types only from ioredis:
 * this module is loaded by every store, and an in-memory replay should not load ioredis (about
 * 0.2 CPU s of start-up, bench/README.md section `cpu6`).
 */
import type { Cluster, Redis } from 'ioredis';
import { sendGathered } from './redis-pipelines.ts';

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
