/**
 * The state engine on the real Redis: the store contract (fencing of an owner that lost its
 * producers included), the expected results of the seeded scenarios when every batch saves and
 * reloads its producers, and the layout (no key per report).
 */
import { describe, expect, it } from 'vitest';
import { createRedisDurability } from '../../src/state/engine/redis-durability.ts';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import type { StateUpdate } from '../../src/state/store.ts';
import { bookScenarios, expectBookScenario, scenarioName } from '../helpers/book-scenarios.ts';
import { deleteKeysWithPrefix, keysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

const DAY = 86_400_000;
const testRedis = useTestRedis();

describeStoreContract('state engine on Redis', async () => {
  const prefix = uniquePrefix('engine');
  return {
    store: createEngineRedisStore({ redis: testRedis().duplicate(), prefix }),
    producer: (id) => id,
    successor: () => createEngineRedisStore({ redis: testRedis().duplicate(), prefix }),
    fences: true,
    cleanup: async () => {
      await deleteKeysWithPrefix(testRedis(), prefix);
    },
  };
});

const report = (reportId: string, producerId: string, day: number, kg: number): StateUpdate => ({
  reportId,
  producerId,
  occurredAt: (20_100 + day) * DAY + 3_600_000,
  flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg }],
  licenceUse: { licenceId: 'L1', kg },
  graceMs: 0,
});

describe('state engine on Redis', () => {
  for (const s of bookScenarios(1000)) {
    it(`returns the expected results when every batch reloads its producers from Redis (${scenarioName(s)})`, async () => {
      const prefix = uniquePrefix('engine-scenario');
      const store = createEngineRedisStore({ redis: testRedis(), prefix, maxCachedProducers: 1, keepConnectionOpen: true });
      try {
        const seen = await expectBookScenario(s, (batch) => store.applyBatch(batch));
        expect(seen.deficit + seen.stock).toBeGreaterThan(50);
      } finally {
        await deleteKeysWithPrefix(testRedis(), prefix);
        await store.close();
      }
    });
  }

  it('keeps two keys per producer, however many reports', async () => {
    const prefix = uniquePrefix('engine-layout');
    const store = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
    const batch = Array.from({ length: 50 }, (_, i) => report(`R${i}`, i % 2 === 0 ? 'P1' : 'P2', Math.floor(i / 10), 1));
    try {
      await store.applyBatch(batch);
      expect((await keysWithPrefix(testRedis(), prefix)).filter((k) => !k.includes('{engine}'))).toEqual(
        [`${prefix}:{P1}:epoch`, `${prefix}:{P1}:state`, `${prefix}:{P2}:epoch`, `${prefix}:{P2}:state`],
      );
    } finally {
      await deleteKeysWithPrefix(testRedis(), prefix);
      await store.close();
    }
  });

  it('refuses ids that would break a key before anything is sent', async () => {
    const prefix = uniquePrefix('engine-refuse');
    const store = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
    try {
      await expect(store.applyBatch([report('R1', 'P}1', 0, 1)])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
      expect((await keysWithPrefix(testRedis(), prefix)).filter((k) => !k.includes('{engine}'))).toEqual([]);
    } finally {
      await deleteKeysWithPrefix(testRedis(), prefix);
      await store.close();
    }
  });

  describe('a changed field sent as an edit of the stored text', () => {
    const entries = (n: number, name = 'Müller'): string => `[${Array.from({ length: n }, (_, i) => `["SHP-${1000 + i}",${i * 3600},"${name}"]`).join(',')}]`;
    type Durability = ReturnType<typeof createRedisDurability>;
    const save = (durability: Durability, text: string) => durability.save(new Map([['P1', new Map([['shared:exports', text]])]]));
    /** Runs `test` on a fresh prefix with a durability on it; `stored` reads P1's field back, `put` writes it behind the durability's back. */
    async function withDurability(
      test: (d: Durability, stored: () => Promise<string | null>, put: (text: string | null) => Promise<unknown>, prefix: string) => Promise<void>,
    ): Promise<void> {
      const prefix = uniquePrefix('engine-edit');
      const key = `${prefix}:{P1}:state`;
      try {
        await test(
          createRedisDurability({ redis: testRedis(), prefix }),
          () => testRedis().hget(key, 'shared:exports'),
          (text) => (text === null ? testRedis().hdel(key, 'shared:exports') : testRedis().hset(key, 'shared:exports', text)),
          prefix,
        );
      } finally {
        await deleteKeysWithPrefix(testRedis(), prefix);
      }
    }

    it('leaves Redis holding the new text, beyond ASCII too, as a whole write would', () =>
      withDurability(async (durability, stored, _put, prefix) => {
        for (let n = 10; n <= 14; n += 1) {
          const text = entries(n, n % 2 === 0 ? 'Müller' : 'Søn 東京');
          await save(durability, text);
          expect(await stored()).toBe(text);
        }
        // A new instance loads what was written and edits from there.
        const next = createRedisDurability({ redis: testRedis(), prefix });
        expect((await next.load(['P1'])).get('P1')!.get('shared:exports')).toBe(entries(14, 'Müller'));
        await save(next, entries(15));
        expect(await stored()).toBe(entries(15));
      }));

    it('sends only the changed part: the stored ends stay as Redis holds them', () =>
      withDurability(async (durability, stored, put) => {
        await save(durability, entries(10));
        // Changed behind the instance's back at the same length: the edit keeps the stored start.
        await put(entries(10).replace('SHP-1000', 'SHP-9999'));
        await save(durability, entries(11));
        expect(await stored()).toBe(entries(11).replace('SHP-1000', 'SHP-9999'));
      }));

    it('writes the whole text when the stored one is not the length the edit expects', () =>
      withDurability(async (durability, stored, put) => {
        await save(durability, entries(10));
        await put(entries(9));
        await save(durability, entries(11));
        expect(await stored()).toBe(entries(11));
        await put(null);
        await save(durability, entries(12));
        expect(await stored()).toBe(entries(12));
      }));
  });
});
