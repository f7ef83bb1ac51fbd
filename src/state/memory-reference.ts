/**
 * The in-memory half of the store's reference data: export price histories, the watchlist and the
 * clients seen. Kept apart from the producer books in memory-store.ts; same contract as Redis.
 */
import type { WatchlistEntry } from '../domain/events.ts';
import { PRICE_HISTORY_KEPT, isEarlierSighting, type ClientSighting, type StateStore } from './store.ts';

type ReferenceStore = Pick<
  StateStore,
  'observePrices' | 'putWatchlistEntry' | 'deleteWatchlistEntry' | 'watchlistVersion' | 'getWatchlist' | 'recordClients' | 'getClients'
>;

interface PricePoint {
  occurredAt: number;
  reportId: string;
  usdPerKg: number;
}

const before = (a: PricePoint, b: PricePoint): boolean => (a.occurredAt !== b.occurredAt ? a.occurredAt < b.occurredAt : a.reportId < b.reportId);

export function createMemoryReference(): ReferenceStore {
  const prices = new Map<string, PricePoint[]>();
  const watchlist = new Map<string, WatchlistEntry>();
  const clients = new Map<string, ClientSighting>();
  let version = 0;

  return {
    async observePrices(observations) {
      return observations.map((o) => {
        const key = `${o.producerId}|${o.material}`;
        const ring = prices.get(key) ?? [];
        prices.set(key, ring);
        let rank = ring.findIndex((p) => p.reportId === o.reportId);
        if (rank < 0) {
          const point = { occurredAt: o.occurredAt, reportId: o.reportId, usdPerKg: o.usdPerKg };
          rank = ring.findIndex((p) => before(point, p));
          if (rank < 0) rank = ring.length;
          ring.splice(rank, 0, point);
        }
        const earlier = ring.slice(Math.max(0, rank - PRICE_HISTORY_KEPT), rank).map((p) => p.usdPerKg);
        // One more than a rule may read, so a report's own point never pushes out what it reads.
        if (ring.length > PRICE_HISTORY_KEPT + 1) ring.splice(0, ring.length - PRICE_HISTORY_KEPT - 1);
        return earlier;
      });
    },
    async putWatchlistEntry(entry) {
      watchlist.set(entry.entryId, entry);
      version += 1;
    },
    async deleteWatchlistEntry(entryId) {
      watchlist.delete(entryId);
      version += 1;
    },
    async watchlistVersion() {
      return String(version);
    },
    async getWatchlist() {
      return [...watchlist.values()].sort((a, b) => (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
    },
    async recordClients(sightings) {
      return sightings.map((s) => {
        const key = `${s.producerId}\u0000${s.clientId}\u0000${s.clientName}`;
        const known = clients.get(key);
        if (!known || isEarlierSighting(s, known)) clients.set(key, { ...s });
        return { ...clients.get(key)! };
      });
    },
    async getClients() {
      return [...clients.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, s]) => s);
    },
  };
}
