/**
 * The rule-state engine: producer state held in this process, made durable after each batch.
 *
 * A batch runs in three steps: load the producers it touches that are not in memory (one round
 * trip), run the batch's work on in-memory state (no I/O), then save every change in one round
 * trip, before the caller commits anything. Producers beyond `maxCachedProducers` are evicted
 * least recently used first once saved; they are durable, and the next touch loads them again.
 *
 * If the save fails (Redis down, or another owner fenced this one off), the touched producers are
 * dropped from memory: the durable copy is the truth, and a retried batch recomputes from it.
 * Without a Durability, state lives in this process only and is never evicted (embedded replay).
 */
import type { Durability } from './durability.ts';
import { ProducerState, type ProducerChanges } from './producer-state.ts';

export interface StateEngineOptions {
  durability?: Durability | undefined;
  /** Producers kept in memory between batches when state is durable. */
  maxCachedProducers?: number | undefined;
}

export const DEFAULT_MAX_CACHED_PRODUCERS = 20_000;

export class StateEngine {
  /** In least-recently-used order: a touched producer is moved to the end. */
  private readonly cache = new Map<string, ProducerState>();
  private readonly durability: Durability | undefined;
  private readonly maxCached: number;

  constructor(options: StateEngineOptions = {}) {
    this.durability = options.durability;
    this.maxCached = options.maxCachedProducers ?? DEFAULT_MAX_CACHED_PRODUCERS;
    if (!(this.maxCached >= 1)) throw new RangeError(`maxCachedProducers must be at least 1, got ${this.maxCached}`);
  }

  get cachedProducers(): number {
    return this.cache.size;
  }

  /**
   * Runs `work` over the given producers' state and makes its changes durable before resolving.
   * Batches may overlap (partitions processed concurrently) as long as no producer is in two at
   * once, which partition ownership guarantees.
   */
  async run<T>(
    producerIds: Iterable<string>,
    work: (stateOf: (producerId: string) => ProducerState) => T,
    /** Awaited after `work` and before the save: e.g. an index that must never be later than the state it points to. */
    beforeSave?: (result: T) => Promise<void>,
  ): Promise<T> {
    const touched = [...new Set(producerIds)];
    // Taken before any await, so another batch's eviction meanwhile cannot take them away.
    const states = new Map<string, ProducerState>();
    for (const id of touched) {
      const held = this.cache.get(id);
      if (held) states.set(id, held);
    }
    const missing = touched.filter((id) => !states.has(id));
    if (this.durability && missing.length > 0) {
      const stored = await this.durability.load(missing);
      for (const id of missing) states.set(id, new ProducerState(id, stored.get(id)));
    } else {
      for (const id of missing) states.set(id, new ProducerState(id));
    }
    for (const [id, state] of states) {
      // Re-inserted so the Map's order stays least recently used first (only evicting needs it).
      if (this.durability) this.cache.delete(id);
      this.cache.set(id, state);
    }
    const stateOf = (id: string): ProducerState => {
      const state = states.get(id);
      if (!state) throw new Error(`producer ${id} was not declared for this batch`);
      return state;
    };
    let result: T;
    try {
      result = work(stateOf);
    } catch (err) {
      // Half-applied state must not outlive the batch: forget it and reload the durable copy next
      // time. Without durability there is no other copy; what was applied stays.
      if (this.durability) for (const id of touched) this.cache.delete(id);
      throw err;
    }
    if (beforeSave) {
      try {
        await beforeSave(result);
      } catch (err) {
        if (this.durability) for (const id of touched) this.cache.delete(id);
        throw err;
      }
    }
    if (this.durability) await this.save(touched, states);
    return result;
  }

  private async save(touched: readonly string[], states: ReadonlyMap<string, ProducerState>): Promise<void> {
    const changes = new Map<string, ProducerChanges>();
    for (const [id, state] of states) {
      const fields = state.drainChanges();
      if (fields.size > 0) changes.set(id, fields);
    }
    try {
      if (changes.size > 0) await this.durability!.save(changes);
    } catch (err) {
      for (const id of touched) this.cache.delete(id);
      throw err;
    }
    for (const id of this.cache.keys()) {
      if (this.cache.size <= this.maxCached) break;
      this.cache.delete(id);
    }
  }

  /** Forgets every producer held in memory (e.g. on losing partitions); their state stays durable. */
  dropAll(): void {
    this.cache.clear();
  }
}
