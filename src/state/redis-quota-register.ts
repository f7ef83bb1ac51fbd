/**
 * The QuotaRegister on Redis (single node or Cluster), shared by every detector instance: each
 * producer's quotas are one hash in the producer's slot (quotaId → the quota as JSON), so the
 * quotas of a batch's producers come back in one round trip; a small key per quota remembers which
 * producer it is filed under, so a quota re-issued to another producer leaves the first one.
 *
 * Every command touches one key, so nothing crosses a slot. A put or delete is several commands;
 * they are ordered so that a record applied again after a crash part-way ends in the same state
 * (the quota consumer commits its offset only after the batch is written, so it is applied again).
 *
 * The client is shared (run.ts gives the state store's), so close() leaves it connected.
 */
import type { Cluster, Redis } from 'ioredis';
import type { ProductionQuota } from '../domain/events.ts';
import { ReeError, errorMessage } from '../errors.ts';
import { createKeyBuilder } from './keys.ts';
import type { QuotaRegister } from './quota-register.ts';
import { sendCommands } from './redis-commands.ts';

export interface RedisQuotaRegisterOptions {
  redis: Redis | Cluster;
  /** Namespace of every key, the state store's prefix; no braces (see keys.ts). */
  prefix: string;
}

const byQuotaId = (a: ProductionQuota, b: ProductionQuota): number => (a.quotaId < b.quotaId ? -1 : a.quotaId > b.quotaId ? 1 : 0);

function parseQuota(text: string, producerId: string): ProductionQuota {
  try {
    return JSON.parse(text) as ProductionQuota;
  } catch (err) {
    throw new ReeError('REE_ERR_STATE', `a quota of producer ${producerId} in Redis is not JSON: ${errorMessage(err)}`, { cause: err });
  }
}

export function createRedisQuotaRegister(options: RedisQuotaRegisterOptions): QuotaRegister {
  const { redis } = options;
  if (redis.options.keyPrefix) {
    // ioredis would prepend it behind the key builder's back, and slots would be computed on the wrong key.
    throw new ReeError('REE_ERR_CONFIG', `give the Redis client no keyPrefix (it has ${JSON.stringify(redis.options.keyPrefix)}); the register's prefix option namespaces its keys`);
  }
  const keys = createKeyBuilder(options.prefix);
  let closed = false;

  const send = (operation: string, commands: Parameters<typeof sendCommands>[2]) => {
    if (closed) throw new ReeError('REE_ERR_STATE', `Redis quota register is closed; cannot ${operation}`);
    return sendCommands(redis, operation, commands);
  };

  /** The producer the quota is filed under, if any. */
  async function ownerOf(quotaId: string): Promise<string | null> {
    const owner = keys.quotaOwner(quotaId);
    const [reply] = await send('read a quota owner', [{ key: owner, queue: (p) => p.get(owner) }]);
    return typeof reply === 'string' ? reply : null;
  }

  return {
    async putQuota(quota) {
      const previous = await ownerOf(quota.quotaId);
      const hash = keys.producerQuotas(quota.producerId);
      const owner = keys.quotaOwner(quota.quotaId);
      // New home first, then out of the old one, then the owner: a crash in between leaves the
      // owner naming the old producer, so applying the record again still finds and clears it.
      const { quotaId } = quota;
      const text = JSON.stringify(quota);
      await send('store a quota', [{ key: hash, queue: (p) => p.hset(hash, quotaId, text) }]);
      if (previous !== null && previous !== quota.producerId) {
        const old = keys.producerQuotas(previous);
        await send('move a quota', [{ key: old, queue: (p) => p.hdel(old, quotaId) }]);
      }
      await send('store a quota owner', [{ key: owner, queue: (p) => p.set(owner, quota.producerId) }]);
    },

    async deleteQuota(quotaId) {
      const previous = await ownerOf(quotaId);
      if (previous === null) return;
      const hash = keys.producerQuotas(previous);
      const owner = keys.quotaOwner(quotaId);
      // The owner goes last, so a delete cut short is found and finished when applied again.
      await send('delete a quota', [{ key: hash, queue: (p) => p.hdel(hash, quotaId) }]);
      await send('delete a quota owner', [{ key: owner, queue: (p) => p.del(owner) }]);
    },

    async quotasOf(producerIds) {
      const ids = [...new Set(producerIds)];
      const replies = await send(
        'read quotas',
        ids.map((id) => {
          const hash = keys.producerQuotas(id);
          return { key: hash, queue: (p) => p.hvals(hash) };
        }),
      );
      const found = new Map<string, ProductionQuota[]>();
      ids.forEach((id, i) => found.set(id, ((replies[i] ?? []) as string[]).map((text) => parseQuota(text, id)).sort(byQuotaId)));
      return found;
    },

    async close() {
      closed = true;
    },
  };
}
