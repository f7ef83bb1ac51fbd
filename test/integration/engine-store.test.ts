/**
 * The state engine on the real Redis: the store contract (fencing of an owner that lost its
 * producers included), the expected results of the seeded scenarios when every batch saves and
 * reloads its producers, and the layout (no key per report).
 */
import { describe, expect, it } from 'vitest';
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
});
