/**
 * The QuotaRegister contract on Redis and on a real three-master Redis Cluster: producers' quota
 * hashes and quota owners hash to their own slots, so a command straying across slots would fail here.
 */
import { Cluster, Redis } from 'ioredis';
import keySlot from 'cluster-key-slot';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyBuilder } from '../../src/state/keys.ts';
import { createRedisQuotaRegister } from '../../src/state/redis-quota-register.ts';
import { quota, describeQuotaRegisterContract } from '../helpers/quota-register-contract.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, uniquePrefix } from '../helpers/redis-state.ts';

let redis: Redis;
let handle: RedisClusterHandle | undefined;
let cluster: Cluster;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
  await redis.ping();
  handle = await startRedisCluster({ masters: 3, timeoutMs: 60_000 });
  cluster = new Cluster(handle.nodes, { redisOptions: { connectTimeout: 2_000 } });
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('error', reject);
  });
}, 90_000);

afterAll(async () => {
  await redis?.quit();
  await cluster?.quit().catch(() => cluster.disconnect());
  await handle?.stop();
});

describeQuotaRegisterContract('Redis', async () => {
  const prefix = uniquePrefix('quotas');
  return { register: createRedisQuotaRegister({ redis, prefix }), producer: (id) => id, cleanup: async () => void (await deleteKeysWithPrefix(redis, prefix)) };
});

describeQuotaRegisterContract('Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster-quotas');
  return { register: createRedisQuotaRegister({ redis: cluster, prefix }), producer: (id) => id, cleanup: async () => void (await deleteKeysWithPrefix(cluster, prefix)) };
});

describe('Redis quota register layout', () => {
  it('files quotas in their producer\'s slot and reads producers spread over every node in one call', async () => {
    const prefix = uniquePrefix('quota-spread');
    const register = createRedisQuotaRegister({ redis: cluster, prefix });
    const keys = createKeyBuilder(prefix);
    try {
      const producers = Array.from({ length: 24 }, (_, i) => `P${i}`);
      expect(new Set(producers.map((p) => cluster.slots[keySlot(keys.producerQuotas(p))]?.[0])).size).toBe(3);
      for (const p of producers) await register.putQuota(quota({ quotaId: `Q-${p}`, producerId: p }));
      const found = await register.quotasOf(producers);
      expect(producers.map((p) => found.get(p)!.map((q) => q.quotaId))).toEqual(producers.map((p) => [`Q-${p}`]));
      expect(keySlot(keys.producerQuotas('P3'))).toBe(keySlot(keys.producer('P3', 'state')));
    } finally {
      await deleteKeysWithPrefix(cluster, prefix);
    }
  });

  it('leaves the shared client connected on close', async () => {
    const prefix = uniquePrefix('quota-close');
    const register = createRedisQuotaRegister({ redis, prefix });
    await register.putQuota(quota());
    await register.close();
    expect(await redis.ping()).toBe('PONG');
    await expect(register.quotasOf(['P1'])).rejects.toThrow(/closed/);
    expect(await keysWithPrefix(redis, prefix)).toEqual([`${prefix}:{P1}:quotas`, `${prefix}:{quota:Q-1}:owner`]);
    await deleteKeysWithPrefix(redis, prefix);
  });
});
