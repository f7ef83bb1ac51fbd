/**
 * The QuotaRegister contract, run against every implementation (memory in the unit suite, Redis
 * and Redis Cluster in the integration suite): a register that passes serves the quota rule alike.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ProductionQuota } from '../../src/domain/events.ts';
import type { QuotaRegister } from '../../src/state/quota-register.ts';
import { D0, at } from './builders.ts';

export function quota(o: Partial<ProductionQuota> = {}): ProductionQuota {
  return { quotaId: 'Q-1', producerId: 'P1', year: 2025, materials: ['NDPR_OXIDE'], quotaKg: 50_000, issuedAt: at(D0 - 11, 0), ...o };
}

export function describeQuotaRegisterContract(name: string, factory: () => Promise<{ register: QuotaRegister; producer: (id: string) => string; cleanup?: () => Promise<void> }>) {
  describe(`QuotaRegister contract: ${name}`, () => {
    let register: QuotaRegister;
    let P: (id: string) => string;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await factory();
      register = made.register;
      P = made.producer;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup?.();
      await register.close();
    });

    it('gives each producer its quotas in quotaId order, and producers without any an empty list', async () => {
      const [a, b, none] = [P('A'), P('B'), P('none')];
      await register.putQuota(quota({ quotaId: 'Q-2', producerId: a, year: 2026 }));
      await register.putQuota(quota({ quotaId: 'Q-1', producerId: a }));
      await register.putQuota(quota({ quotaId: 'Q-3', producerId: b, materials: ['DY_OXIDE', 'TB_OXIDE'], quotaKg: 1_200 }));
      const found = await register.quotasOf([a, b, none]);
      expect(found.get(a)!.map((q) => q.quotaId)).toEqual(['Q-1', 'Q-2']);
      expect(found.get(b)).toEqual([quota({ quotaId: 'Q-3', producerId: b, materials: ['DY_OXIDE', 'TB_OXIDE'], quotaKg: 1_200 })]);
      expect(found.get(none)).toEqual([]);
    });

    it('replaces a quota of the same quotaId, and moves it when its producer changes', async () => {
      const [a, b] = [P('A'), P('B')];
      await register.putQuota(quota({ producerId: a, quotaKg: 50_000 }));
      await register.putQuota(quota({ producerId: a, quotaKg: 60_000 }));
      expect((await register.quotasOf([a])).get(a)!.map((q) => q.quotaKg)).toEqual([60_000]);
      await register.putQuota(quota({ producerId: b, quotaKg: 70_000 }));
      const found = await register.quotasOf([a, b]);
      expect(found.get(a)).toEqual([]);
      expect(found.get(b)!.map((q) => q.quotaKg)).toEqual([70_000]);
    });

    it('deletes a quota on a tombstone, and takes a tombstone for an unknown quota in its stride', async () => {
      const a = P('A');
      await register.putQuota(quota({ quotaId: 'Q-1', producerId: a }));
      await register.putQuota(quota({ quotaId: 'Q-2', producerId: a }));
      await register.deleteQuota('Q-1');
      await register.deleteQuota('Q-never');
      expect((await register.quotasOf([a])).get(a)!.map((q) => q.quotaId)).toEqual(['Q-2']);
      // Applying the same records again (a redelivered batch) ends in the same place.
      await register.deleteQuota('Q-1');
      await register.putQuota(quota({ quotaId: 'Q-2', producerId: a }));
      expect((await register.quotasOf([a])).get(a)!.map((q) => q.quotaId)).toEqual(['Q-2']);
    });

    it('keeps a quota put again after a tombstone', async () => {
      const a = P('A');
      await register.putQuota(quota({ producerId: a }));
      await register.deleteQuota('Q-1');
      await register.putQuota(quota({ producerId: a, quotaKg: 1 }));
      expect((await register.quotasOf([a])).get(a)).toEqual([quota({ producerId: a, quotaKg: 1 })]);
    });

    it('answers an empty question with an empty map', async () => {
      expect((await register.quotasOf([])).size).toBe(0);
    });
  });
}
