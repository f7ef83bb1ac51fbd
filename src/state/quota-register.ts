/**
 * The production quotas of ree.quotas.v1 (a compacted topic keyed by quotaId), as reference data
 * the quota-overrun rule reads per producer. Implementations: memory here (embedded replay, tests);
 * Redis in redis-quota-register.ts.
 */
import type { ProductionQuota } from '../domain/events.ts';

export interface QuotaRegister {
  /** Keeps the quota, replacing the one of the same quotaId (its producer may change). */
  putQuota(quota: ProductionQuota): Promise<void>;
  /** Deletes the quota (a tombstone). */
  deleteQuota(quotaId: string): Promise<void>;
  /** Each producer's quotas, ordered by quotaId; producers without any get an empty list. */
  quotasOf(producerIds: readonly string[]): Promise<Map<string, ProductionQuota[]>>;
  close(): Promise<void>;
}

export function createMemoryQuotaRegister(): QuotaRegister {
  const byId = new Map<string, ProductionQuota>();
  return {
    async putQuota(quota) {
      byId.set(quota.quotaId, quota);
    },
    async deleteQuota(quotaId) {
      byId.delete(quotaId);
    },
    async quotasOf(producerIds) {
      const wanted = new Set(producerIds);
      const found = new Map<string, ProductionQuota[]>(producerIds.map((id) => [id, []]));
      for (const q of byId.values()) if (wanted.has(q.producerId)) found.get(q.producerId)!.push(q);
      for (const list of found.values()) list.sort((a, b) => (a.quotaId < b.quotaId ? -1 : a.quotaId > b.quotaId ? 1 : 0));
      return found;
    },
    async close() {},
  };
}
