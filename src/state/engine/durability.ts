/**
 * Where the engine keeps producer state durable. The engine loads a batch's missing producers in
 * one call and saves a batch's changes in one call; a Durability makes each call one round trip.
 * Changes are values (whole fields), so saving the same changes twice is harmless.
 */
import type { ProducerChanges } from './producer-state.ts';

export interface Durability {
  /** Stored fields of each producer; a producer never saved gets an empty map. */
  load(producerIds: readonly string[]): Promise<Map<string, Map<string, string>>>;
  /**
   * Writes each producer's changes. Rejects with a REE_ERR_FENCED error naming the producers whose
   * write was refused because another owner has claimed them since (see redis-durability.ts).
   */
  save(changes: ReadonlyMap<string, ProducerChanges>): Promise<void>;
  close(): Promise<void>;
}

/** Durability in this process's memory: what the engine evicts comes back from here. For tests and single-process runs. */
export function createMemoryDurability(): Durability & { fieldCount(producerId: string): number } {
  const stored = new Map<string, Map<string, string>>();
  return {
    async load(producerIds) {
      return new Map(producerIds.map((id) => [id, new Map(stored.get(id))]));
    },
    async save(changes) {
      for (const [producerId, fields] of changes) {
        let kept = stored.get(producerId);
        if (!kept) stored.set(producerId, (kept = new Map()));
        for (const [field, text] of fields) {
          if (text === null) kept.delete(field);
          else kept.set(field, text);
        }
      }
    },
    fieldCount: (producerId) => stored.get(producerId)?.size ?? 0,
    async close() {},
  };
}
