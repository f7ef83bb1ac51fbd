/**
 * The rule-state engine: producer state held in this process, made durable after each batch (or,
 * for a batch job, at its checkpoints: `deferSaves` below).
 *
 * A batch runs in three steps: load the producers it touches that are not in memory (one round
 * trip), run the batch's work on in-memory state (no I/O), then save every change in one round
 * trip, before the caller commits anything. Producers beyond `maxCachedProducers` are evicted
 * least recently used first once their changes are saved; they are durable, and the next touch
 * loads them again.
 *
 * If the save fails (Redis down, or another owner fenced this one off), the touched producers are
 * dropped from memory: the durable copy is the truth, and a retried batch recomputes from it.
 * Without a Durability, state lives in this process only and is never evicted (embedded replay).
 *
 * With `overlapSaves` (a batch job whose output does not wait on durability: the embedded replay
 * against Redis), a run resolves once its save is sent rather than once it is durable, so the next
 * batch is worked on while Redis applies it. The saves go out in run order on one connection per
 * node, and a load first waits for every save sent before it. A failed save fails the next run (or
 * `settle()`), which must therefore be awaited before the job reports success. The live path must
 * not overlap: its Kafka transaction may commit only once the state it moved is durable.
 *
 * With `deferSaves` (the same batch job), a run saves nothing: the producers it touched stay dirty
 * in memory until the job calls `checkpoint()` (or `settle()`, which checkpoints first), which
 * drains and sends them all in one save. A producer touched by ten batches between checkpoints is
 * encoded and written once instead of ten times: Kafka Streams' commit interval, where state
 * stores flush on commit rather than per record. Nothing is evicted while dirty: a run marks its
 * producers dirty as soon as its work is done, and when the cache outgrows `maxCachedProducers`
 * the run checkpoints, then evicts down to nine tenths of it, so that the next few producers
 * loaded do not each force a checkpoint of their own. What a deferred job loses in a crash is
 * at most the work since its last checkpoint, which a job that starts over in a fresh namespace
 * (the embedded replay) never reads anyway.
 */
import type { Durability } from './durability.ts';
import { ProducerState, type ProducerChanges } from './producer-state.ts';

export interface StateEngineOptions {
  durability?: Durability | undefined;
  /** Producers kept in memory between batches when state is durable. */
  maxCachedProducers?: number | undefined;
  /** Resolve a run once its save is sent, not once it is durable (see above). Off by default. */
  overlapSaves?: boolean | undefined;
  /** Save only at `checkpoint()` and `settle()` (see above); implies overlapSaves. Off by default. */
  deferSaves?: boolean | undefined;
}

export const DEFAULT_MAX_CACHED_PRODUCERS = 20_000;

export class StateEngine {
  /** In least-recently-used order: a touched producer is moved to the end. */
  private readonly cache = new Map<string, ProducerState>();
  private readonly durability: Durability | undefined;
  private readonly maxCached: number;
  private readonly overlapSaves: boolean;
  private readonly deferSaves: boolean;
  /** Producers changed since the last checkpoint (deferSaves only); never evicted while here. */
  private readonly dirty = new Map<string, ProducerState>();
  /** Saves sent and not yet known durable (overlapSaves only). */
  private readonly inFlight = new Set<Promise<void>>();
  /** The first overlapped save that failed: every later run and settle() throws it. */
  private saveFailure: { error: unknown } | undefined;

  constructor(options: StateEngineOptions = {}) {
    this.durability = options.durability;
    this.maxCached = options.maxCachedProducers ?? DEFAULT_MAX_CACHED_PRODUCERS;
    this.deferSaves = options.deferSaves === true;
    this.overlapSaves = options.overlapSaves === true || this.deferSaves;
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
    if (this.saveFailure) throw this.saveFailure.error;
    const touched = [...new Set(producerIds)];
    // Taken before any await, so another batch's eviction meanwhile cannot take them away.
    const states = new Map<string, ProducerState>();
    for (const id of touched) {
      const held = this.cache.get(id);
      if (held) states.set(id, held);
    }
    const missing = touched.filter((id) => !states.has(id));
    if (this.durability && missing.length > 0) {
      // What a save still in flight writes must be there before it is read back. (A dirty producer
      // is never missing: it stays cached until its checkpoint.)
      await this.savesSent();
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
      this.forget(touched, err);
      throw err;
    }
    // Dirty before any await: another partition's run may checkpoint and evict meanwhile, and a
    // producer evicted with changes no save has taken would be reloaded without them.
    if (this.durability && this.deferSaves) for (const [id, state] of states) this.dirty.set(id, state);
    if (beforeSave) {
      try {
        await beforeSave(result);
      } catch (err) {
        this.forget(touched, err);
        throw err;
      }
    }
    if (this.durability) {
      if (this.deferSaves) {
        if (this.cache.size > this.maxCached) this.sendDirty(Math.floor(this.maxCached * 0.9));
      } else {
        const saved = this.save(states);
        if (this.overlapSaves) this.keepInFlight(saved);
        else await saved;
      }
    }
    return result;
  }

  /**
   * Drops producers whose batch failed part-way. With deferSaves their durable copy may also miss
   * earlier batches' changes, so the engine can no longer be trusted: every later run fails.
   */
  private forget(touched: readonly string[], err: unknown): void {
    if (!this.durability) return;
    for (const id of touched) {
      this.cache.delete(id);
      if (this.dirty.delete(id)) this.saveFailure ??= { error: err };
    }
  }

  /**
   * Sends every change made since the last checkpoint in one save, without waiting for it
   * (deferSaves; a no-op otherwise, as every run has saved already). A failure surfaces at the next
   * run or settle().
   */
  checkpoint(): void {
    this.sendDirty(this.maxCached);
  }

  /** The checkpoint's save, then eviction down to `evictTo` producers (the run's overflow evicts further). */
  private sendDirty(evictTo: number): void {
    if (this.dirty.size === 0) return;
    const states = new Map(this.dirty);
    this.dirty.clear();
    this.keepInFlight(this.save(states, evictTo));
  }

  /**
   * Waits for the saves already sent, whatever their outcome (a caller that gives up and cleans
   * up after them: the embedded replay deleting its namespace). Sends nothing new.
   */
  async savesDone(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled(this.inFlight);
  }

  /**
   * Checkpoints, then waits for every save sent so far; throws if one of them failed (then so does
   * every later run). Without overlapSaves there is never one pending.
   */
  async settle(): Promise<void> {
    this.checkpoint();
    await this.savesSent();
  }

  /** Waits for the saves already sent; throws if one failed. */
  private async savesSent(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.all(this.inFlight);
    if (this.saveFailure) throw this.saveFailure.error;
  }

  private keepInFlight(saved: Promise<void>): void {
    const kept: Promise<void> = saved.then(
      () => {
        this.inFlight.delete(kept);
      },
      (err: unknown) => {
        this.inFlight.delete(kept);
        this.saveFailure ??= { error: err };
      },
    );
    this.inFlight.add(kept);
  }

  /** Drains the changes now (synchronously, so the next batch cannot mix into them) and sends them. */
  private save(states: ReadonlyMap<string, ProducerState>, evictTo = this.maxCached): Promise<void> {
    const changes = new Map<string, ProducerChanges>();
    for (const [id, state] of states) {
      const fields = state.drainChanges();
      if (fields.size > 0) changes.set(id, fields);
    }
    const sent = changes.size > 0 ? this.durability!.save(changes) : Promise.resolve();
    // Evicted once sent: a later load waits for the save (settle) before reading it back.
    for (const id of this.cache.keys()) {
      if (this.cache.size <= evictTo) break;
      this.cache.delete(id);
    }
    return sent.catch((err: unknown) => {
      for (const id of states.keys()) this.cache.delete(id);
      throw err;
    });
  }

  /** Forgets every producer held in memory (e.g. on losing partitions); their state stays durable. */
  dropAll(): void {
    // Unsaved changes would be lost with them: send them first (deferSaves only has any).
    this.checkpoint();
    this.cache.clear();
  }
}
