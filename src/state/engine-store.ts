/**
 * The store the pipeline runs on: the state engine (engine/), which keeps the balance book, licence
 * use and every rule's own state in this process and, with Redis, durable after every batch (or at
 * a batch job's checkpoints, engine.ts) with fencing; beside it the reference data and
 * published-alert markers (StateStore) of the same backend, which this store closes with itself.
 */
import type { Cluster, Redis } from 'ioredis';
import { applyToBook } from './engine/balance-book.ts';
import { StateEngine, type StateEngineOptions } from './engine/engine.ts';
import { createRedisDurability, type RedisDurability } from './engine/redis-durability.ts';
import { createMemoryReference } from './memory-reference.ts';
import { createRedisReference } from './redis-reference.ts';
import type { ApplyResult, StateStore, StateUpdate } from './store.ts';

export interface EngineStore extends StateStore {
  readonly engine: StateEngine;
  /**
   * Applies updates to the balance book in order, in one engine run (one load, one save); results
   * are index-aligned with the input. The pipeline does the same inside its own run, with the rules.
   */
  applyBatch(updates: StateUpdate[]): Promise<ApplyResult[]>;
}

function engineStore(engine: StateEngine, reference: StateStore): EngineStore {
  return {
    ...reference,
    engine,
    async applyBatch(updates) {
      return engine.run(
        updates.map((u) => u.producerId),
        (stateOf) => updates.map((u) => applyToBook(stateOf(u.producerId), u)),
      );
    },
  };
}

/**
 * Engine state in this process: by default nothing is written anywhere (embedded replay); with a
 * durability (e.g. createMemoryDurability) evicted producers are saved and loaded as with Redis.
 */
export function createEngineMemoryStore(options: StateEngineOptions = {}): EngineStore {
  return engineStore(new StateEngine(options), createMemoryReference());
}

export interface EngineRedisStoreOptions {
  redis: Redis | Cluster;
  /** Namespace of every key, as for createRedisReference. */
  prefix: string;
  /** The ownership epoch; by default a new one is taken from Redis on first use. */
  epoch?: number | undefined;
  maxCachedProducers?: number | undefined;
  /** A batch job only: runs resolve once their save is sent (engine.ts); await `engine.settle()` before reporting success. */
  overlapSaves?: boolean | undefined;
  /** A batch job only: save at `engine.checkpoint()` and `engine.settle()` only (engine.ts). */
  deferSaves?: boolean | undefined;
  /**
   * A connection of the engine's own for loading and saving producer state (default: `redis`), to
   * the same server or cluster. With overlapSaves, the next batch's reads of reference data and
   * published markers then do not wait on the wire behind a save still in flight. Not closed by
   * the store: the caller closes it.
   */
  engineRedis?: Redis | Cluster | undefined;
  keepConnectionOpen?: boolean | undefined;
}

/** Engine state in memory, durable in Redis after every batch (or at checkpoints, deferSaves), fenced by an ownership epoch. */
export function createEngineRedisStore(options: EngineRedisStoreOptions): EngineStore & { durability: RedisDurability } {
  // The reference store checks the client and prefix and owns the connection.
  const reference = createRedisReference({ redis: options.redis, prefix: options.prefix, keepConnectionOpen: options.keepConnectionOpen });
  const durability = createRedisDurability({ redis: options.engineRedis ?? options.redis, prefix: options.prefix, epoch: options.epoch });
  const engine = new StateEngine({ durability, maxCachedProducers: options.maxCachedProducers, overlapSaves: options.overlapSaves, deferSaves: options.deferSaves });
  return { ...engineStore(engine, reference), durability };
}
