import { once } from 'node:events';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import { createRedisStore } from '../../src/state/redis-store.ts';
import { MAX_SUBJECT_IDS, RETENTION_DAYS, type StateUpdate } from '../../src/state/store.ts';
import { licenceVersionAt } from '../../src/domain/licence-versions.ts';
import { createKeyBuilder } from '../../src/state/keys.ts';
import { describeStoreContract, sampleLicence } from '../helpers/store-contract.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, uniquePrefix } from '../helpers/redis-state.ts';
import { random, scenario } from '../helpers/state-scenario.ts';

const DAY = 86_400_000;
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
    store: createRedisStore({ redis: redis.duplicate(), prefix }),
    producer: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(redis, prefix);
    },
  };
});

describe('Redis store layout', () => {
  it('keeps every key of a producer under its hash tag and remembers results with a TTL', async () => {
    const prefix = uniquePrefix('layout');
    const store = createRedisStore({ redis, prefix, seenTtlSeconds: 600, keepConnectionOpen: true });
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
          `${prefix}:{lic:L1}:licence-versions`,
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

  it('deletes the fields and index members of pruned days and keeps those of never-declared materials', async () => {
    const prefix = uniquePrefix('prune');
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const memory = createMemoryStore();
    const D = 20_100;
    const lastDay = RETENTION_DAYS + 10;
    const batch: StateUpdate[] = [];
    for (let d = 0; d <= lastDay; d++) {
      batch.push({
        reportId: `R${d}`,
        producerId: 'P',
        occurredAt: (D + d) * DAY + 3_600_000,
        flows: [
          { material: 'M', kind: 'produced', kg: 3 },
          { material: 'M', kind: 'shipped', kg: 1 },
          { material: 'U', kind: 'consumed', kg: 1 },
        ],
        declaration: d === 0 || d === 5 ? { material: 'M', onHandKg: 100 + d } : undefined,
        graceMs: 2 * DAY,
      });
    }
    try {
      expect(await store.applyBatch(batch)).toStrictEqual(await memory.applyBatch(batch));
      // The clock is on day D + RETENTION_DAYS + 10: the latest declaration of M on or before the
      // cutoff (day D + 10) is day D + 5's, which stays; M's days up to D + 5 and day D's declaration go.
      const book = await redis.hkeys(`${prefix}:{P}:book`);
      const days = await redis.zrange(`${prefix}:{P}:days`, 0, -1);
      const dayOfField = (field: string) => Number(field.split('|')[2]);
      const mFlowDays = [...new Set(book.filter((f) => f.startsWith('f|M|')).map(dayOfField))].sort((a, b) => a - b);
      expect(mFlowDays[0]).toBe(D + 6);
      expect(mFlowDays).toHaveLength(lastDay - 5);
      expect(book.filter((f) => f.startsWith('o|M|')).map(dayOfField).sort((a, b) => a - b)[0]).toBe(D + 6);
      expect(book.filter((f) => f.startsWith('dk|') || f.startsWith('dr|')).sort()).toEqual([`dk|M|${D + 5}`, `dr|M|${D + 5}`]);
      expect(days.filter((m) => m.startsWith('d|'))).toEqual([`d|M|00000${D + 5}`]);
      expect(days.filter((m) => m.startsWith('f|M|'))).toHaveLength(lastDay - 5);
      // U was never declared: every one of its days is still there.
      expect(days.filter((m) => m.startsWith('f|U|'))).toHaveLength(lastDay + 1);
      expect(book.filter((f) => f.startsWith('o|U|'))).toHaveLength(lastDay + 1);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('keeps an alert marked published for as long as its finding keeps being checked', async () => {
    const prefix = uniquePrefix('marker');
    const store = createRedisStore({ redis, prefix, publishedAlertTtlSeconds: 600, keepConnectionOpen: true });
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

  it('still reads a licence stored before licence versions, and lets a newer version of the same time win', async () => {
    const prefix = uniquePrefix('legacy-licence');
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
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
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const good = { reportId: 'R1', producerId: 'P1', occurredAt: 0, flows: [], graceMs: 0 };
    await expect(store.applyBatch([good, { ...good, producerId: 'P}1' }])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    await expect(store.getLicenceVersions(['L{1}'])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    expect(await keysWithPrefix(redis, prefix)).toEqual([]);
    expect(() => createRedisStore({ redis, prefix: '{ree}' })).toThrow(/braces/);
  });

  it('makes one round trip per call, whatever the batch size', async () => {
    const prefix = uniquePrefix('trips');
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const pipelines = vi.spyOn(redis, 'pipeline');
    const direct = vi.spyOn(redis, 'sendCommand');
    try {
      const batch = Array.from({ length: 200 }, (_, i) => ({
        reportId: `T${i}`,
        producerId: `P${i % 7}`,
        occurredAt: 20_100 * DAY + i,
        flows: [{ material: 'M', kind: 'shipped' as const, kg: 1 }],
        graceMs: 0,
      }));
      await store.applyBatch(batch);
      await store.getLicenceVersions(['A', 'B', 'C']);
      await store.markAlertsPublished(['A', 'B']);
      await store.unpublishedAlerts(['A', 'B', 'C']);
      expect(pipelines).toHaveBeenCalledTimes(4);
      // Every command was written as part of a pipeline (with its stream), none on its own.
      // Two reads per licence: its versions, and the single copy a store from before versions kept.
      expect(direct).toHaveBeenCalledTimes(200 + 2 * 3 + 2 + 3);
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
    expect(() => createRedisStore({ redis: prefixed, prefix: 'ree' })).toThrow(/keyPrefix/);
    prefixed.disconnect();
  });

  it('quits its connection on close, unless told to keep it, and then refuses calls clearly', async () => {
    const own = redis.duplicate();
    const store = createRedisStore({ redis: own, prefix: uniquePrefix('closed') });
    await store.unpublishedAlerts(['a']);
    await store.close();
    await store.close();
    // QUIT is answered before the socket closes.
    if (own.status !== 'end') await once(own, 'end');
    await expect(store.unpublishedAlerts(['a'])).rejects.toThrow(/closed/);

    const shared = createRedisStore({ redis, prefix: uniquePrefix('shared'), keepConnectionOpen: true });
    await shared.close();
    expect(await redis.ping()).toBe('PONG');
  });
});

describe('Redis store against the in-memory reference', () => {
  for (const seed of [1, 2, 3, 42, 2025]) {
    it(`returns exactly what the in-memory store returns (seed ${seed})`, async () => {
      const prefix = uniquePrefix('parity');
      const memory = createMemoryStore();
      const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
      const seen = { deficit: 0, stock: 0, duplicate: 0, negativeZero: 0 };
      try {
        for (const batch of scenario(seed, 400)) {
          const expected = await memory.applyBatch(batch);
          const actual = await store.applyBatch(batch);
          for (const r of actual) {
            if (r.duplicate) seen.duplicate++;
            for (const c of r.checks) {
              seen[c.kind]++;
              if (Object.is(c.bookKg, -0)) seen.negativeZero++;
            }
          }
          expect(actual).toStrictEqual(expected);
          // toStrictEqual treats 0 and -0 alike; the sign of a zero must survive Redis too.
          expect(actual.flatMap((r) => r.checks.map((c) => Object.is(c.bookKg, -0)))).toEqual(
            expected.flatMap((r) => r.checks.map((c) => Object.is(c.bookKg, -0))),
          );
        }
        // The scenario must have exercised what it is for.
        expect(seen.deficit).toBeGreaterThan(10);
        expect(seen.stock).toBeGreaterThan(5);
        expect(seen.duplicate).toBeGreaterThan(10);
      } finally {
        await deleteKeysWithPrefix(redis, prefix);
        await store.close();
      }
    });
  }

  for (const seed of [5, 6, 7]) {
    it(`returns exactly what the in-memory store returns over several retention periods, late reports and all (seed ${seed})`, async () => {
      const prefix = uniquePrefix('parity-long');
      const memory = createMemoryStore();
      const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
      let checks = 0;
      try {
        for (const batch of scenario(seed, 1500, 4 * RETENTION_DAYS)) {
          const expected = await memory.applyBatch(batch);
          const actual = await store.applyBatch(batch);
          checks += actual.reduce((n, r) => n + r.checks.length, 0);
          expect(actual).toStrictEqual(expected);
          expect(actual.flatMap((r) => r.checks.map((c) => Object.is(c.bookKg, -0)))).toEqual(
            expected.flatMap((r) => r.checks.map((c) => Object.is(c.bookKg, -0))),
          );
        }
        expect(checks).toBeGreaterThan(100);
      } finally {
        await deleteKeysWithPrefix(redis, prefix);
        await store.close();
      }
    });
  }

  it('fires hundreds of checks of a few materials in one call after a long silence, with the in-memory results', async () => {
    const prefix = uniquePrefix('silence');
    const memory = createMemoryStore();
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const next = random(7);
    const materials = ['A_MAT', 'AB', 'Z'];
    const batch: StateUpdate[] = [];
    // Daily reports over nearly the whole retention window (so nothing they need is pruned before
    // they fire), each with outflows of every material, all waiting out a grace period longer than that.
    for (let day = 0; day < RETENTION_DAYS - 5; day++) {
      const material = materials[day % materials.length]!;
      batch.push({
        reportId: `L${day}`,
        producerId: 'P',
        occurredAt: (20_100 + day) * DAY + Math.floor(next() * DAY),
        flows: [
          { material, kind: 'produced', kg: Math.round(next() * 1_000_000) / 1000 },
          ...materials.map((m) => ({ material: m, kind: next() < 0.5 ? ('shipped' as const) : ('consumed' as const), kg: next() * 500 })),
        ],
        declaration: next() < 0.3 ? { material, onHandKg: next() * 10_000 } : undefined,
        graceMs: 400 * DAY,
      });
    }
    batch.push({ reportId: 'tick', producerId: 'P', occurredAt: (20_100 + 800) * DAY, flows: [], graceMs: 0 });
    try {
      const expected = await memory.applyBatch(batch);
      const actual = await store.applyBatch(batch);
      expect(actual).toStrictEqual(expected);
      const fired = actual.at(-1)!.checks;
      expect(fired.length).toBeGreaterThan(300);
      expect(fired.filter((c) => c.kind === 'stock').length).toBeGreaterThan(20);
      expect(fired.filter((c) => c.opening !== null).length).toBeGreaterThan(250);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('keeps numbers exact where cjson would not: long decimals, 16-digit times, integers, negative zero', async () => {
    const prefix = uniquePrefix('numbers');
    const memory = createMemoryStore();
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const late = 8_640_000_000_000_000 - 1; // the last representable event time, 16 digits
    const batch: StateUpdate[] = [
      // Opening 0.0006 kg less a 1 g shipment: Math.round(-0.4) is -0, so the book is -0 kg.
      { reportId: 'N1', producerId: 'P', occurredAt: 999 * DAY, flows: [], declaration: { material: 'M1', onHandKg: 0.0006 }, graceMs: 0 },
      { reportId: 'N2', producerId: 'P', occurredAt: 1_000 * DAY, flows: [{ material: 'M1', kind: 'shipped', kg: 0.001 }], graceMs: 0 },
      { reportId: 'N3', producerId: 'P', occurredAt: 1_001 * DAY, flows: [], declaration: { material: 'M2', onHandKg: 1234567.123456789 }, graceMs: 0 },
      { reportId: 'N4', producerId: 'P', occurredAt: 1_002 * DAY, flows: [], licenceUse: { licenceId: 'L', kg: 1e15 }, graceMs: 0 },
      { reportId: 'N5', producerId: 'P', occurredAt: late, flows: [], graceMs: 0 },
    ];
    try {
      const expected = await memory.applyBatch(batch);
      const actual = await store.applyBatch(batch);
      expect(actual).toStrictEqual(expected);
      expect(actual[4]!.watermark).toBe(late);
      expect(actual[3]!.licenceUsedAfterKg).toBe(1e15);
      const deficit = actual.flatMap((r) => r.checks).find((c) => c.kind === 'deficit');
      expect(Object.is(deficit?.bookKg, -0)).toBe(true);
      const stock = actual.flatMap((r) => r.checks).find((c) => c.kind === 'stock' && c.material === 'M2');
      expect(stock?.declaredKg).toBe(1234567.123456789);
      // What is stored for redeliveries holds the same numbers as what was returned.
      expect(await store.applyBatch(batch)).toStrictEqual(actual.map((r) => ({ ...r, duplicate: true })));
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('breaks due-time ties by day number, not by text, across digit widths', async () => {
    const prefix = uniquePrefix('widths');
    const memory = createMemoryStore();
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    // The same dueAt for days 99_999 and 100_000: grace makes both due at one instant.
    const dueAt = (100_000 + 1) * DAY - 1 + 5 * DAY;
    const batch: StateUpdate[] = [
      { reportId: 'W1', producerId: 'P', occurredAt: 100_000 * DAY, flows: [{ material: 'M', kind: 'shipped', kg: 1 }], graceMs: 5 * DAY },
      { reportId: 'W2', producerId: 'P', occurredAt: 99_999 * DAY, flows: [{ material: 'M', kind: 'shipped', kg: 1 }], graceMs: 6 * DAY },
      { reportId: 'W3', producerId: 'P', occurredAt: dueAt, flows: [], graceMs: 0 },
    ];
    try {
      const expected = await memory.applyBatch(batch);
      const actual = await store.applyBatch(batch);
      expect(actual[2]!.checks.map((c) => c.day)).toEqual([99_999, 100_000]);
      expect(actual).toStrictEqual(expected);
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });

  it('lists at most MAX_SUBJECT_IDS outflow reports per day', async () => {
    const prefix = uniquePrefix('subjects');
    const memory = createMemoryStore();
    const store = createRedisStore({ redis, prefix, keepConnectionOpen: true });
    const batch: StateUpdate[] = Array.from({ length: MAX_SUBJECT_IDS + 5 }, (_, i) => ({
      reportId: `S${i}`,
      producerId: 'P',
      occurredAt: 20_100 * DAY,
      flows: [{ material: 'M', kind: 'consumed' as const, kg: 1 }],
      graceMs: 0,
    }));
    batch.push({ reportId: 'tick', producerId: 'P', occurredAt: 20_101 * DAY, flows: [], graceMs: 0 });
    try {
      const actual = await store.applyBatch(batch);
      expect(actual).toStrictEqual(await memory.applyBatch(batch));
      expect(actual.at(-1)!.checks[0]!.subjectIds).toHaveLength(MAX_SUBJECT_IDS);
      expect(actual.at(-1)!.checks[0]!.bookKg).toBe(-(MAX_SUBJECT_IDS + 5));
    } finally {
      await deleteKeysWithPrefix(redis, prefix);
      await store.close();
    }
  });
});
