/**
 * How the Redis state modules send their commands (the reference store, the engine's durability,
 * the custody ledger, the quota register, the watermark and the timer index): one round trip, and
 * any failure as one REE_ERR_STATE error that says whether trying again may help.
 */
import type { Cluster, Redis } from 'ioredis';
import { ReeError, errorMessage } from '../errors.ts';
import { execPipelined, type QueuedCommand, type Reply } from './redis-pipelines.ts';

/** Replies that mean "not now" (failover, resharding, loading, memory) rather than a bug. */
const RETRIABLE_REPLY = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|BUSY|NOSCRIPT|READONLY|MASTERDOWN|NOREPLICAS|OOM)\b/;

function isRetriable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  // Anything but a server reply is the connection failing: worth another try.
  if (err.name !== 'ReplyError') return true;
  return RETRIABLE_REPLY.test(err.message);
}

function stateError(operation: string, err: unknown): ReeError {
  if (err instanceof ReeError) return err;
  return new ReeError('REE_ERR_STATE', `Redis state store could not ${operation}: ${errorMessage(err)}`, {
    retriable: isRetriable(err),
    cause: err,
  });
}

/** Sends the commands in one round trip, then fails the whole call (as REE_ERR_STATE) if any one failed. */
export async function sendCommands(redis: Redis | Cluster, operation: string, commands: QueuedCommand[]): Promise<unknown[]> {
  let replies: Reply[];
  try {
    replies = await execPipelined(redis, commands);
  } catch (err) {
    throw stateError(operation, err);
  }
  const failed = replies.find(([error]) => error !== null);
  if (failed) throw stateError(operation, failed[0]);
  return replies.map(([, result]) => result);
}
