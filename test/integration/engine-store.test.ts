/**
 * The state engine on the real Redis: the StateStore contract, parity with the in-memory store
 * when producers are saved and reloaded, the layout (no key per report), and fencing of an owner
 * that lost its producers.
 */
import { describe, expect, it } from 'vitest';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import { RETENTION_DAYS, type StateUpdate } from '../../src/state/store.ts';
import { deleteKeysWithPrefix, keysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';
import { scenario } from '../helpers/state-scenario.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

const DAY = 86_400_000;
const testRedis = useTestRedis();

describeStoreContract('state engine on Redis', async () => {
  const prefix = uniquePrefix('engine');
  return {
    store: createEngineRedisStore({ redis: testRedis().duplicate(), prefix }),
    producer: (id) => id,
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
  for (const seed of [1, 42]) {
    it(`returns exactly the in-memory store's results when every batch reloads its producers from Redis (seed ${seed})`, async () => {
      const prefix = uniquePrefix('engine-parity');
      const reference = createMemoryStore();
      const store = createEngineRedisStore({ redis: testRedis(), prefix, maxCachedProducers: 1, keepConnectionOpen: true });
      let checks = 0;
      try {
        for (const batch of scenario(seed, 1000, 2 * RETENTION_DAYS)) {
          const expected = await reference.applyBatch(batch);
          const actual = await store.applyBatch(batch);
          expect(actual).toStrictEqual(expected);
          checks += actual.reduce((n, r) => n + r.checks.length, 0);
        }
        expect(checks).toBeGreaterThan(50);
      } finally {
        await deleteKeysWithPrefix(testRedis(), prefix);
        await store.close();
      }
    });
  }

  it('keeps two keys per producer, however many reports, and a redelivery after a restart changes nothing', async () => {
    const prefix = uniquePrefix('engine-layout');
    const first = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
    const batch = Array.from({ length: 50 }, (_, i) => report(`R${i}`, i % 2 === 0 ? 'P1' : 'P2', Math.floor(i / 10), 1));
    try {
      const results = await first.applyBatch(batch);
      expect((await keysWithPrefix(testRedis(), prefix)).filter((k) => !k.includes('{engine}'))).toEqual(
        [`${prefix}:{P1}:epoch`, `${prefix}:{P1}:state`, `${prefix}:{P2}:epoch`, `${prefix}:{P2}:state`],
      );
      // A new instance (as after a crash) gets the same batch again: every report is a duplicate
      // with its first result, and licence use does not move.
      const second = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
      expect(await second.applyBatch(batch)).toStrictEqual(results.map((r) => ({ ...r, duplicate: true })));
      const [next] = await second.applyBatch([report('R-next', 'P1', 5, 1)]);
      expect(next).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 25, licenceUsedAfterKg: 26 });
    } finally {
      await deleteKeysWithPrefix(testRedis(), prefix);
      await first.close();
    }
  });

  it("refuses a paused old owner's late write and leaves the new owner's state intact", async () => {
    const prefix = uniquePrefix('engine-fence');
    const zombie = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
    try {
      await zombie.applyBatch([report('Z1', 'P1', 0, 10)]);
      // The partition moves: a new owner takes a newer epoch and loads P1, claiming it.
      const owner = createEngineRedisStore({ redis: testRedis(), prefix, keepConnectionOpen: true });
      expect(await owner.durability.epoch()).toBeGreaterThan(await zombie.durability.epoch());
      const [owned] = await owner.applyBatch([report('N1', 'P1', 1, 5)]);
      expect(owned).toMatchObject({ licenceUsedBeforeKg: 10, licenceUsedAfterKg: 15 });
      const ownerState = await testRedis().hgetall(`${prefix}:{P1}:state`);

      // The old owner wakes up with P1 still in memory and writes what it computed.
      await expect(zombie.applyBatch([report('Z2', 'P1', 1, 1000)])).rejects.toMatchObject({ code: 'REE_ERR_FENCED', retriable: false });
      expect(await testRedis().hgetall(`${prefix}:{P1}:state`)).toEqual(ownerState);
      // It forgot what it could not write, and a reload is refused too: it cannot take P1 back.
      expect(zombie.engine.cachedProducers).toBe(0);
      await expect(zombie.applyBatch([report('Z3', 'P1', 2, 1)])).rejects.toMatchObject({ code: 'REE_ERR_FENCED' });

      // The new owner carries on from its own state, untouched by the zombie.
      const [after] = await owner.applyBatch([report('N2', 'P1', 2, 1)]);
      expect(after).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 15, licenceUsedAfterKg: 16 });
    } finally {
      await deleteKeysWithPrefix(testRedis(), prefix);
      await zombie.close();
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
});
