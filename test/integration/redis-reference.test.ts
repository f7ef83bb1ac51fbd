/**
 * The Redis reference store (licences, prices, watchlist, clients, published markers) beyond the
 * store contract: its key layout and TTLs, licences stored before versions, round trips, refusals
 * and its connection. The contract itself runs on the engine stores (engine-store.test.ts).
 */
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CLAIM_TTL_MS, createRedisReference } from '../../src/state/redis-reference.ts';
import { licenceVersionAt } from '../../src/domain/licence-versions.ts';
import { createKeyBuilder } from '../../src/state/keys.ts';
import { sampleLicence } from '../helpers/store-contract.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
let redis: Redis;
beforeAll(() => {
  redis = testRedis();
});

describe('Redis reference store', () => {
  it('keeps each licence and alert marker under a hash tag of its own, markers with a TTL', async () => {
    const prefix = uniquePrefix('layout');
    const store = createRedisReference({ redis, prefix, keepConnectionOpen: true });
    try {
      await store.putLicence(sampleLicence({ licenceId: 'L1' }));
      await store.markAlertsPublished(['A1']);
      expect(await keysWithPrefix(redis, prefix)).toEqual([`${prefix}:{alert:A1}:published`, `${prefix}:{lic:L1}:licence-versions`]);
      expect(await redis.ttl(`${prefix}:{alert:A1}:published`)).toBeGreaterThan(29 * 24 * 3600);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('keeps an alert marked published for as long as its finding keeps being checked', async () => {
    const prefix = uniquePrefix('marker');
    const store = createRedisReference({ redis, prefix, publishedAlertTtlSeconds: 600, keepConnectionOpen: true });
    const marker = `${prefix}:{alert:A1}:published`;
    try {
      await store.markAlertsPublished(['A1']);
      // As if most of the marker's life had passed while the finding kept recurring.
      await redis.expire(marker, 5);
      expect(await store.unpublishedAlerts(['A1', 'A2'])).toEqual(['A2']);
      expect(await redis.ttl(marker)).toBeGreaterThan(590);
      // Checking an unpublished id leaves no marker behind.
      expect(await redis.exists(`${prefix}:{alert:A2}:published`)).toBe(0);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it("keeps a claim as a lease in its marker's slot, renewed by its path's next claim, so a holder that died cannot hold it for ever", async () => {
    const prefix = uniquePrefix('claim');
    const store = createRedisReference({ redis, prefix, keepConnectionOpen: true });
    const claim = `${prefix}:{alert:A1}:claim:1`;
    try {
      expect(await store.claimAlerts(['A1'], { path: 'watchlist', txn: 'tw', partition: 2 })).toEqual(['claimed']);
      expect(await redis.get(claim)).toBe('watchlist tw 2');
      const lease = await redis.pttl(claim);
      expect(lease).toBeGreaterThan(CLAIM_TTL_MS - 60_000);
      expect(lease).toBeLessThanOrEqual(CLAIM_TTL_MS);
      await redis.pexpire(claim, 5_000);
      expect(await store.claimAlerts(['A1'], { path: 'watchlist', txn: 'tw2' })).toEqual(['claimed']);
      expect(await redis.pttl(claim)).toBeGreaterThan(CLAIM_TTL_MS - 60_000);
      // Run out (its holder never came back), the other path may claim it.
      await redis.pexpire(claim, 1);
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await store.claimAlerts(['A1'], { path: 'reports', txn: 'tr' })).toEqual(['claimed']);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('still reads a licence stored before licence versions, and lets a newer version of the same time win', async () => {
    const prefix = uniquePrefix('legacy-licence');
    const store = createRedisReference({ redis, prefix, keepConnectionOpen: true });
    const stored = sampleLicence({ licenceId: 'L-OLD', quotaKg: 100 });
    const revoked = { ...stored, status: 'REVOKED' as const, effectiveAt: stored.issuedAt + 86_400_000 };
    try {
      await redis.set(createKeyBuilder(prefix).licence('L-OLD'), JSON.stringify(stored));
      expect((await store.getLicenceVersions(['L-OLD'])).get('L-OLD')).toEqual([stored]);
      const corrected = { ...stored, quotaKg: 200 };
      await store.putLicence(revoked);
      await store.putLicence(corrected);
      expect((await store.getLicenceVersions(['L-OLD'])).get('L-OLD')).toEqual([stored, corrected, revoked]);
      expect(licenceVersionAt((await store.getLicenceVersions(['L-OLD'])).get('L-OLD')!, stored.issuedAt)).toEqual(corrected);
      await store.deleteLicence('L-OLD');
      expect(await keysWithPrefix(redis, prefix)).toEqual([]);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('refuses ids that would break a key before anything is sent', async () => {
    const prefix = uniquePrefix('refuse');
    const store = createRedisReference({ redis, prefix, keepConnectionOpen: true });
    await expect(store.markAlertsPublished(['A1', 'A}2'])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    await expect(store.getLicenceVersions(['L{1}'])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    expect(await keysWithPrefix(redis, prefix)).toEqual([]);
    expect(() => createRedisReference({ redis, prefix: '{ree}' })).toThrow(/braces/);
  });

  it('makes one round trip per call, whatever the batch size', async () => {
    const prefix = uniquePrefix('trips');
    const store = createRedisReference({ redis, prefix, keepConnectionOpen: true });
    const pipelines = vi.spyOn(redis, 'pipeline');
    const direct = vi.spyOn(redis, 'sendCommand');
    try {
      await store.markAlertsPublished(Array.from({ length: 200 }, (_, i) => `T${i}`));
      await store.getLicenceVersions(['A', 'B', 'C']);
      await store.unpublishedAlerts(['A', 'B', 'C']);
      expect(pipelines).toHaveBeenCalledTimes(3);
      // Every command was written as part of a pipeline (with its stream), none on its own.
      // Two reads per licence: its versions, and the single copy a store from before versions kept.
      expect(direct).toHaveBeenCalledTimes(200 + 2 * 3 + 3);
      expect(direct.mock.calls.every(([, stream]) => stream !== undefined)).toBe(true);
    } finally {
      pipelines.mockRestore();
      direct.mockRestore();
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('refuses a client with its own keyPrefix', () => {
    const prefixed = new Redis(redisUrl(), { keyPrefix: 'x:', lazyConnect: true });
    expect(() => createRedisReference({ redis: prefixed, prefix: 'ree' })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it('quits its connection on close, unless told to keep it, and then refuses calls clearly', async () => {
    const own = redis.duplicate();
    const store = createRedisReference({ redis: own, prefix: uniquePrefix('closed') });
    await store.unpublishedAlerts(['a']);
    await store.close();
    await store.close();
    // QUIT is answered before the socket closes.
    if (own.status !== 'end') await once(own, 'end');
    await expect(store.unpublishedAlerts(['a'])).rejects.toThrow(/closed/);

    const shared = createRedisReference({ redis, prefix: uniquePrefix('shared'), keepConnectionOpen: true });
    await shared.close();
    expect(await redis.ping()).toBe('PONG');
  });
});
