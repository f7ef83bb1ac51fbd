import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisStore } from '../../src/state/redis-store.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, uniquePrefix } from '../helpers/redis-state.ts';

let redis: Redis;

beforeAll(async () => {
  redis = new Redis(redisUrl(), { maxRetriesPerRequest: 2 });
  await redis.ping();
});
afterAll(async () => {
  await redis.quit();
});

describeStoreContract('Redis', async () => {
  const prefix = uniquePrefix('store');
  return {
    store: createRedisStore({ redis, prefix }),
    producer: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
    },
  };
});

describe('Redis store layout', () => {
  it('keeps every key of a producer under its hash tag and remembers results with a TTL', async () => {
    const prefix = uniquePrefix('layout');
    const store = createRedisStore({ redis, prefix, seenTtlSeconds: 600 });
    try {
      await store.applyBatch([
        {
          reportId: 'R1',
          producerId: 'P1',
          occurredAt: Date.UTC(2025, 0, 12, 12),
          flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 1 }],
          declaration: { material: 'DY_OXIDE', onHandKg: 5 },
          licenceUse: { licenceId: 'L1', kg: 1 },
          graceMs: 0,
        },
      ]);
      await store.putLicence({
        licenceId: 'L1', exporterId: 'P1', clientId: 'C1', clientName: 'C', endUserCountry: 'DE',
        materials: ['DY_OXIDE'], quotaKg: 1, validFrom: 0, validTo: 1, status: 'ACTIVE', issuedAt: 0,
      });
      await store.markAlertsPublished(['A1']);
      expect(await keysWithPrefix(redis, prefix)).toEqual(
        [
          `${prefix}:{P1}:book`,
          `${prefix}:{P1}:days`,
          `${prefix}:{P1}:licence-use`,
          `${prefix}:{P1}:meta`,
          `${prefix}:{P1}:pending`,
          `${prefix}:{P1}:seen:R1`,
          `${prefix}:{alert:A1}:published`,
          `${prefix}:{lic:L1}:licence`,
        ].sort(),
      );
      const seenTtl = await redis.ttl(`${prefix}:{P1}:seen:R1`);
      expect(seenTtl).toBeGreaterThan(590);
      expect(seenTtl).toBeLessThanOrEqual(600);
      expect(await redis.ttl(`${prefix}:{alert:A1}:published`)).toBeGreaterThan(29 * 24 * 3600);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('refuses ids that would break a key before anything is sent', async () => {
    const prefix = uniquePrefix('refuse');
    const store = createRedisStore({ redis, prefix });
    const good = { reportId: 'R1', producerId: 'P1', occurredAt: 0, flows: [], graceMs: 0 };
    await expect(store.applyBatch([good, { ...good, producerId: 'P}1' }])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    await expect(store.getLicences(['L{1}'])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    expect(await keysWithPrefix(redis, prefix)).toEqual([]);
    expect(() => createRedisStore({ redis, prefix: '{ree}' })).toThrow(/braces/);
  });

  it('fails a closed store clearly', async () => {
    const store = createRedisStore({ redis, prefix: uniquePrefix('closed') });
    await store.close();
    await expect(store.unpublishedAlerts(['a'])).rejects.toThrow(/closed/);
  });
});
