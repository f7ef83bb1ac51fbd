import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/domain/time.ts';
import { SEEN_WINDOW_MS, createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateUpdate } from '../../src/state/store.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

describeStoreContract('in-memory', async () => ({ store: createMemoryStore(), producer: (id) => id }));

describe('in-memory store: results kept for redeliveries', () => {
  const T0 = 20_100 * DAY_MS;
  const report = (reportId: string, occurredAt: number, producerId = 'P1'): StateUpdate => ({
    reportId,
    producerId,
    occurredAt,
    flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 1 }],
    licenceUse: { licenceId: 'L1', kg: 1 },
    graceMs: 0,
  });

  it('returns the identical first result while the producer clock is within the window', async () => {
    const store = createMemoryStore();
    const [first] = await store.applyBatch([report('R1', T0)]);
    await store.applyBatch([report('R2', T0 + SEEN_WINDOW_MS)]);
    const [again] = await store.applyBatch([report('R1', T0)]);
    expect(again).toStrictEqual({ ...first, duplicate: true });
  });

  it('forgets a result once the producer clock has moved on past the window, and only that producer\'s', async () => {
    const store = createMemoryStore();
    await store.applyBatch([report('R1', T0), report('Q1', T0, 'P2')]);
    await store.applyBatch([report('R2', T0 + SEEN_WINDOW_MS + 1)]);
    const [late, other] = await store.applyBatch([report('R1', T0), report('Q1', T0, 'P2')]);
    // The documented trade-off: so late a redelivery is applied again (a second kg of licence use).
    expect(late).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 2, licenceUsedAfterKg: 3 });
    expect(other!.duplicate).toBe(true);
  });
});
