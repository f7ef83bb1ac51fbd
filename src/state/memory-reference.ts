/**
 * The store's reference data in this process: licence versions, the watchlist, the clients seen,
 * and the published-alert markers and claims. For embedded replay and tests; single process only, nothing
 * survives a restart. Same contract as redis-reference.ts.
 */
import type { Licence, WatchlistEntry } from '../domain/events.ts';
import { effectiveTimeOf, inEffectiveOrder } from '../domain/licence-versions.ts';
import { claimValue, claimantOf, isEarlierSighting, refOf, type AlertRef, type ClientSighting, type StateStore } from './store.ts';

export function createMemoryReference(): StateStore {
  /** licenceId → effective time → version */
  const licences = new Map<string, Map<number, Licence>>();
  /** alertId → the highest revision published. */
  const published = new Map<string, number>();
  /** `<alertId> <revision>` → the claimant as stored (claimValue). */
  const claims = new Map<string, string>();
  const claimKey = (ref: AlertRef) => {
    const { alertId, revision } = refOf(ref);
    return `${alertId} ${revision}`;
  };
  const watchlist = new Map<string, WatchlistEntry>();
  const clients = new Map<string, ClientSighting>();
  let version = 0;

  return {
    async putLicence(l) {
      const versions = licences.get(l.licenceId) ?? new Map<number, Licence>();
      versions.set(effectiveTimeOf(l), l);
      licences.set(l.licenceId, versions);
    },
    async deleteLicence(id) {
      licences.delete(id);
    },
    async getLicenceVersions(ids) {
      const out = new Map<string, Licence[]>();
      for (const id of ids) {
        const versions = licences.get(id);
        if (versions) out.set(id, inEffectiveOrder([...versions.values()]));
      }
      return out;
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
    async unpublishedAlerts(alerts) {
      return alerts.map(refOf).flatMap(({ alertId, revision }) => ((published.get(alertId) ?? 0) < revision ? [alertId] : []));
    },
    async markAlertsPublished(alerts) {
      for (const { alertId, revision } of alerts.map(refOf)) published.set(alertId, Math.max(published.get(alertId) ?? 0, revision));
    },
    async claimAlerts(alerts, claimant) {
      const mine = claimValue(claimant);
      return alerts.map((ref) => {
        const { alertId, revision } = refOf(ref);
        if ((published.get(alertId) ?? 0) >= revision) return 'published';
        const held = claims.get(claimKey(ref));
        if (held !== undefined && !held.startsWith(`${claimant.path} `)) return 'other-path';
        claims.set(claimKey(ref), mine);
        return 'claimed';
      });
    },
    async releaseClaims(alerts, claimant) {
      const mine = claimant && claimValue(claimant);
      for (const ref of alerts) if (mine === undefined || claims.get(claimKey(ref)) === mine) claims.delete(claimKey(ref));
    },
    async claimHolders(alerts) {
      return alerts.map((ref) => {
        const held = claims.get(claimKey(ref));
        return held === undefined ? undefined : claimantOf(held);
      });
    },
    async close() {},
  };
}
