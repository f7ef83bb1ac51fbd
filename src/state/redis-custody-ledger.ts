/**
 * The custody ledger on Redis (single or Cluster), shared by every detector instance: one hash per
 * shipmentId (`{custody:<shipmentId>}:sides`, fields `shipment` and `receipt`). Each side is
 * written with HSETNX and the hash read back in the same Lua script (recordCustodySide-1.lua), so
 * the step is atomic: of two instances recording the two sides at once, the second to run sees
 * both. One key per script, so each runs on one Cluster slot; a call's entries go out in one
 * pipelined round trip (one pipeline per node).
 *
 * Why not a repartition topic re-keyed by shipmentId: no extra topic, consumer or ordering to
 * run; whichever side comes second sees the first at once; a redelivered side is a no-op.
 */
import type { Cluster, Redis } from 'ioredis';
import { quitRedis } from './redis-connection.ts';
import { ReeError, errorMessage } from '../errors.ts';
import type { CustodyLedger, CustodyRecord, CustodySide } from './custody-ledger.ts';
import { createKeyBuilder } from './keys.ts';
import type { QueuedCommand } from './redis-pipelines.ts';
import { sendCommands } from './redis-commands.ts';
import { StateScripts } from './scripts.ts';

/**
 * Garbage collection only, in wall-clock time, renewed at each side's write: a lone receipt whose
 * shipment never comes, or a transfer nobody forgets. It must outlive any judgement: the seller's
 * timer fires once the watermark passes the shipment's occurredAt + grace (72 h by default), later
 * if traffic pauses. 90 days is far beyond both, and beyond the alert markers' 30-day replay window.
 */
export const CUSTODY_TTL_SECONDS = 90 * 24 * 3600;

export interface RedisCustodyLedgerOptions {
  redis: Redis | Cluster;
  /** Namespace of every key, as for the state store (no braces: each key's hash tag is its shipment). */
  prefix: string;
  ttlSeconds?: number;
  /** Leave the client connected on close(), for a client the caller shares and quits itself. */
  keepConnectionOpen?: boolean;
}

const SIDES = ['shipment', 'receipt'] as const;

function parseSide(text: string, shipmentId: string): CustodySide {
  try {
    return JSON.parse(text) as CustodySide;
  } catch (err) {
    throw new ReeError('REE_ERR_STATE', `custody record of shipment ${shipmentId} in Redis is not JSON: ${errorMessage(err)}`, { cause: err });
  }
}

/** A record from HGETALL's reply: a flat [field, value, ...] array (from a script) or an object. */
function decodeRecord(reply: unknown, shipmentId: string): CustodyRecord {
  const fields = new Map<string, string>();
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) fields.set(String(reply[i]), String(reply[i + 1]));
  } else if (reply && typeof reply === 'object') {
    for (const [k, v] of Object.entries(reply as Record<string, string>)) fields.set(k, v);
  }
  const record: CustodyRecord = {};
  for (const side of SIDES) {
    const text = fields.get(side);
    if (text !== undefined) record[side] = parseSide(text, shipmentId);
  }
  return record;
}

const isEmpty = (record: CustodyRecord): boolean => record.shipment === undefined && record.receipt === undefined;

export function createRedisCustodyLedger(options: RedisCustodyLedgerOptions): CustodyLedger {
  const { redis } = options;
  const ttlSeconds = options.ttlSeconds ?? CUSTODY_TTL_SECONDS;
  if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds <= 0) {
    throw new ReeError('REE_ERR_CONFIG', `the custody ledger's ttlSeconds must be a positive whole number, got ${ttlSeconds}`);
  }
  if (redis.options.keyPrefix) {
    // ioredis would prepend it behind the key builder's back, and slots would be computed on the wrong key.
    throw new ReeError('REE_ERR_CONFIG', `give the Redis client no keyPrefix (it has ${JSON.stringify(redis.options.keyPrefix)}); the ledger's prefix option namespaces its keys`);
  }
  const keys = createKeyBuilder(options.prefix);
  const scripts = new StateScripts(redis, keys);
  let closed = false;

  const send = async (operation: string, commands: QueuedCommand[]): Promise<unknown[]> => {
    if (closed) throw new ReeError('REE_ERR_STATE', `Redis custody ledger is closed; cannot ${operation}`);
    return sendCommands(redis, operation, commands);
  };

  return {
    async record(entries) {
      // Entries of one shipmentId share a key, hence a node and a pipeline: they run in order.
      const replies = await send('record custody sides', entries.map(({ shipmentId, side, value }) => scripts.recordCustodySide(keys.custody(shipmentId), side, JSON.stringify(value), ttlSeconds)));
      return replies.map((reply, i) => decodeRecord(reply, entries[i]!.shipmentId));
    },

    async get(shipmentIds) {
      const replies = await send('read custody records', shipmentIds.map((id) => {
        const key = keys.custody(id);
        return { key, queue: (p) => p.hgetall(key) };
      }));
      const found = new Map<string, CustodyRecord>();
      shipmentIds.forEach((id, i) => {
        const record = decodeRecord(replies[i], id);
        if (!isEmpty(record)) found.set(id, record);
      });
      return found;
    },

    async forget(shipmentIds) {
      await send('forget custody records', shipmentIds.map((id) => {
        const key = keys.custody(id);
        return { key, queue: (p) => p.del(key) };
      }));
    },

    async close() {
      if (closed) return;
      closed = true;
      if (!options.keepConnectionOpen) await quitRedis(redis);
    },
  };
}
