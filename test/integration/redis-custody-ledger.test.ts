/**
 * The custody ledger on the real Redis (single node; the Cluster run is in
 * redis-cluster-store.test.ts): the shared contract, then what only Redis has: the layout (one
 * hash per shipment under its own hash tag) and the safety TTL.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CUSTODY_TTL_SECONDS, createRedisCustodyLedger } from '../../src/state/redis-custody-ledger.ts';
import { describeCustodyLedgerContract, receiptSide, shipmentSide } from '../helpers/custody-ledger-contract.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, uniquePrefix } from '../helpers/redis-state.ts';

let redis: Redis;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
  await redis.ping();
});
afterAll(async () => {
  await redis.quit();
});

describeCustodyLedgerContract('Redis', async () => {
  const prefix = uniquePrefix('custody');
  return {
    ledger: createRedisCustodyLedger({ redis: redis.duplicate(), prefix }),
    other: createRedisCustodyLedger({ redis: redis.duplicate(), prefix }),
    shipmentId: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
    },
  };
});

describe('Redis custody ledger layout', () => {
  it('keeps one hash per shipment under its own hash tag, with a TTL renewed by each side', async () => {
    const prefix = uniquePrefix('custody-layout');
    const ledger = createRedisCustodyLedger({ redis, prefix, keepConnectionOpen: true });
    try {
      await ledger.record([{ shipmentId: 'SHP-1', side: 'shipment', value: shipmentSide() }]);
      const key = `${prefix}:{custody:SHP-1}:sides`;
      expect(await keysWithPrefix(redis, prefix)).toEqual([key]);
      await redis.expire(key, 60);
      await ledger.record([{ shipmentId: 'SHP-1', side: 'receipt', value: receiptSide() }]);
      const ttl = await redis.ttl(key);
      expect(ttl).toBeGreaterThan(CUSTODY_TTL_SECONDS - 60);
      expect(ttl).toBeLessThanOrEqual(CUSTODY_TTL_SECONDS);
      expect(Object.keys(await redis.hgetall(key)).sort()).toEqual(['receipt', 'shipment']);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await ledger.close();
    }
  });

  it('refuses a shipmentId that would change the key, and a client with its own keyPrefix', async () => {
    const ledger = createRedisCustodyLedger({ redis, prefix: uniquePrefix('custody-refuse'), keepConnectionOpen: true });
    await expect(ledger.record([{ shipmentId: 'a}b', side: 'shipment', value: shipmentSide() }])).rejects.toThrow(/shipmentId "a}b" cannot be part of a Redis key/);
    const prefixed = new Redis(redisUrl(), { keyPrefix: 'x:', lazyConnect: true });
    expect(() => createRedisCustodyLedger({ redis: prefixed, prefix: 'ree' })).toThrow(/no keyPrefix/);
    prefixed.disconnect();
  });
});
