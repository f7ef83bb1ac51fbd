import { describe, expect, it } from 'vitest';
import { createMemoryDurability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore, type EngineStore } from '../../src/state/engine-store.ts';
import { bookScenarios, expectBookScenario, scenarioName } from '../helpers/book-scenarios.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

describeStoreContract('state engine, in-memory', async () => ({ store: createEngineMemoryStore(), producer: (id) => id }));

// One producer held at a time: every batch saves, evicts and reloads from the stored text.
describeStoreContract('state engine, saved and reloaded every batch', async () => {
  const durability = createMemoryDurability();
  return {
    store: createEngineMemoryStore({ durability, maxCachedProducers: 1 }),
    producer: (id) => id,
    // Another instance on the same saved state (no fencing in memory).
    successor: () => createEngineMemoryStore({ durability, maxCachedProducers: 1 }),
  };
});

const variants: [string, () => EngineStore][] = [
  ['held in memory', () => createEngineMemoryStore()],
  ['reloaded from storage', () => createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 1 })],
];

describe('state engine on seeded scenarios', () => {
  for (const [name, make] of variants) {
    for (const s of bookScenarios(400)) {
      it(`returns the expected results, ${name} (${scenarioName(s)})`, async () => {
        const store = make();
        const seen = await expectBookScenario(s, (batch) => store.applyBatch(batch));
        // The scenario exercised what it is for.
        expect(seen.deficit).toBeGreaterThan(10);
        expect(seen.stock).toBeGreaterThan(5);
        expect(seen.duplicate).toBeGreaterThan(10);
      });
    }
    for (const s of bookScenarios(1500)) {
      it(`returns the expected results over several retention periods, ${name} (${scenarioName(s)})`, async () => {
        const store = make();
        const seen = await expectBookScenario(s, (batch) => store.applyBatch(batch));
        expect(seen.deficit + seen.stock).toBeGreaterThan(100);
      });
    }
  }
});

describe('state engine refusing what cannot be stored', () => {
  it('refuses a material that cannot name a field before changing anything', async () => {
    const store = createEngineMemoryStore();
    const bad = {
      reportId: 'R1',
      producerId: 'P1',
      occurredAt: 20_100 * 86_400_000,
      flows: [{ material: 'DY_OXIDE', kind: 'shipped' as const, kg: 1 }, { material: 'DY#OXIDE', kind: 'shipped' as const, kg: 1 }],
      licenceUse: { licenceId: 'L1', kg: 1 },
      graceMs: 0,
    };
    await expect(store.applyBatch([bad])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    const [next] = await store.applyBatch([{ ...bad, reportId: 'R2', flows: [bad.flows[0]!] }]);
    expect(next).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 0, licenceUsedAfterKg: 1 });
  });
});

describe('state engine with overlapping batches', () => {
  it('keeps a producer a batch already holds even if another batch evicts it while the first waits for a load', async () => {
    const durability = createMemoryDurability();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = durability.load.bind(durability);
    durability.load = async (ids) => {
      if (ids.includes('P2')) await gate;
      return load(ids);
    };
    const store = createEngineMemoryStore({ durability, maxCachedProducers: 1 });
    const use = (reportId: string, producerId: string, kg: number) => ({ reportId, producerId, occurredAt: 20_100 * 86_400_000, flows: [], licenceUse: { licenceId: 'L1', kg }, graceMs: 0 });

    await store.applyBatch([use('a', 'P1', 5)]);
    const waiting = store.applyBatch([use('b', 'P1', 1), use('c', 'P2', 1)]);
    // Another partition's batch runs meanwhile and evicts P1 from memory.
    await store.applyBatch([use('d', 'P3', 1)]);
    release();
    const [p1] = await waiting;
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 5, licenceUsedAfterKg: 6 });
    const [again] = await store.applyBatch([use('e', 'P1', 1)]);
    expect(again).toMatchObject({ licenceUsedBeforeKg: 6, licenceUsedAfterKg: 7 });
  });
});
