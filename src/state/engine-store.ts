/**
 * The StateStore contract kept by the state engine (engine/): the balance book and licence use as
 * engine state, in this process and, with Redis, durable after every batch with fencing. A third
 * implementation beside the Lua ledger (redis-store.ts) and its in-memory twin (memory-store.ts),
 * proven on the same contract suite before anything switches to it.
 *
 * Licences, published-alert markers and the screening reference data (export price histories, the
 * watchlist, clients seen) are not balance-book state: they stay with the existing store of the
 * same backend (the delegate), which this one closes with itself.
 */
import type { Cluster, Redis } from 'ioredis';
import { applyToBook } from './engine/balance-book.ts';
import { StateEngine, type StateEngineOptions } from './engine/engine.ts';
import { createRedisDurability, type RedisDurability } from './engine/redis-durability.ts';
import { createMemoryStore } from './memory-store.ts';
import { createRedisStore } from './redis-store.ts';
import type { StateStore } from './store.ts';

export interface EngineStore extends StateStore {
  readonly engine: StateEngine;
}

function engineStore(engine: StateEngine, delegate: StateStore): EngineStore {
  return {
    engine,
    async applyBatch(updates) {
      return engine.run(
        updates.map((u) => u.producerId),
        (stateOf) => updates.map((u) => applyToBook(stateOf(u.producerId), u)),
      );
    },
    putLicence: (licence) => delegate.putLicence(licence),
    deleteLicence: (licenceId) => delegate.deleteLicence(licenceId),
    getLicenceVersions: (licenceIds) => delegate.getLicenceVersions(licenceIds),
    observePrices: (observations) => delegate.observePrices(observations),
    putWatchlistEntry: (entry) => delegate.putWatchlistEntry(entry),
    deleteWatchlistEntry: (entryId) => delegate.deleteWatchlistEntry(entryId),
    watchlistVersion: () => delegate.watchlistVersion(),
    getWatchlist: () => delegate.getWatchlist(),
    recordClients: (sightings) => delegate.recordClients(sightings),
    getClients: () => delegate.getClients(),
    unpublishedAlerts: (alertIds) => delegate.unpublishedAlerts(alertIds),
    markAlertsPublished: (alertIds) => delegate.markAlertsPublished(alertIds),
    close: () => delegate.close(),
  };
}

/**
 * Engine state in this process: by default nothing is written anywhere (embedded replay); with a
 * durability (e.g. createMemoryDurability) evicted producers are saved and loaded as with Redis.
 */
export function createEngineMemoryStore(options: StateEngineOptions = {}): EngineStore {
  return engineStore(new StateEngine(options), createMemoryStore());
}

export interface EngineRedisStoreOptions {
  redis: Redis | Cluster;
  /** Namespace of every key, as for createRedisStore. */
  prefix: string;
  /** The ownership epoch; by default a new one is taken from Redis on first use. */
  epoch?: number | undefined;
  maxCachedProducers?: number | undefined;
  keepConnectionOpen?: boolean | undefined;
}

/** Engine state in memory, durable in Redis after every batch, fenced by an ownership epoch. */
export function createEngineRedisStore(options: EngineRedisStoreOptions): EngineStore & { durability: RedisDurability } {
  // The delegate checks the client and prefix and owns the connection.
  const delegate = createRedisStore({ redis: options.redis, prefix: options.prefix, keepConnectionOpen: options.keepConnectionOpen });
  const durability = createRedisDurability({ redis: options.redis, prefix: options.prefix, epoch: options.epoch });
  const engine = new StateEngine({ durability, maxCachedProducers: options.maxCachedProducers });
  return { ...engineStore(engine, delegate), durability };
}
