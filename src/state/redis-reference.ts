/**
 * The store's reference data in Redis, shared by every detector instance, on a single Redis or a
 * Redis Cluster: licences (a hash of versions each) and published-alert markers are plain keys,
 * one slot per licence or alert, touched by single-key commands; the watchlist and the clients
 * seen in one slot each (scripts.ts for the clients' script). Each call is one round trip (one
 * pipeline per cluster node, sent together). Producer state is the state engine's
 * (engine/redis-durability.ts).
 *
 * The store takes over the client it is given: close() quits it, unless keepConnectionOpen says
 * the client is shared with something else.
 */
import type { Cluster, Redis } from 'ioredis';
import { quitRedis } from './redis-connection.ts';
import type { Licence, WatchlistEntry } from '../domain/events.ts';
import { effectiveTimeOf, inEffectiveOrder } from '../domain/licence-versions.ts';
import { ReeError, errorMessage } from '../errors.ts';
import { createKeyBuilder } from './keys.ts';
import type { QueuedCommand } from './redis-pipelines.ts';
import { sendCommands } from './redis-commands.ts';
import { StateScripts } from './scripts.ts';
import { claimValue, claimantOf, refOf, type ClaimOutcome, type ClientSighting, type StateStore } from './store.ts';

/** Long enough that a replay of any retained Kafka data still finds its alerts marked published. */
export const PUBLISHED_ALERT_TTL_SECONDS = 30 * 24 * 3600;
/**
 * The lease of a claim (store.ts claimAlerts): only a claim whose holder died without letting go
 * runs it out. A report path's claim is renewed by every transaction that sends its outbox entry
 * again; a watchlist transaction lives for seconds, and its next owner releases what it held.
 */
export const CLAIM_TTL_MS = 10 * 60_000;

export interface RedisReferenceOptions {
  redis: Redis | Cluster;
  /** Namespace of every key, e.g. `ree`; no braces, since each key's hash tag is its producer. */
  prefix: string;
  publishedAlertTtlSeconds?: number;
  /** Leave the client connected on close(), for a client the caller shares and quits itself. */
  keepConnectionOpen?: boolean;
}

function assertPositiveSeconds(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ReeError('REE_ERR_CONFIG', `${name} must be a positive whole number of seconds, got ${value}`);
  }
}

function parseStored<T>(text: string, what: string): T {
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ReeError('REE_ERR_STATE', `a ${what} in Redis is not JSON: ${errorMessage(err)}`, { cause: err });
  }
}

export function createRedisReference(options: RedisReferenceOptions): StateStore {
  const { redis } = options;
  const publishedAlertTtlSeconds = options.publishedAlertTtlSeconds ?? PUBLISHED_ALERT_TTL_SECONDS;
  assertPositiveSeconds(publishedAlertTtlSeconds, 'publishedAlertTtlSeconds');
  if (redis.options.keyPrefix) {
    // ioredis would prepend it behind the key builder's back, and slots would be computed on the wrong key.
    throw new ReeError('REE_ERR_CONFIG', `give the Redis client no keyPrefix (it has ${JSON.stringify(redis.options.keyPrefix)}); the store's prefix option namespaces its keys`);
  }
  const keys = createKeyBuilder(options.prefix);
  const scripts = new StateScripts(redis, keys);
  let closed = false;

  async function send(operation: string, build: () => QueuedCommand[]): Promise<unknown[]> {
    if (closed) throw new ReeError('REE_ERR_STATE', `Redis reference store is closed; cannot ${operation}`);
    return sendCommands(redis, operation, build());
  }

  return {
    async putLicence(licence) {
      await send('store a licence', () => {
        const key = keys.licenceVersions(licence.licenceId);
        const field = String(effectiveTimeOf(licence));
        const text = JSON.stringify(licence);
        return [{ key, queue: (p) => p.hset(key, field, text) }];
      });
    },

    async deleteLicence(licenceId) {
      await send('delete a licence', () => {
        // Both in one slot (one hash tag), so one DEL takes the versions and a pre-versions copy.
        const key = keys.licenceVersions(licenceId);
        return [{ key, queue: (p) => p.del(key, keys.licence(licenceId)) }];
      });
    },

    async getLicenceVersions(licenceIds) {
      // A licence stored before versions existed is one JSON string: it counts as a version, listed
      // first so a version stored since at the same effective time wins.
      const replies = await send('read licences', () =>
        licenceIds.flatMap((id) => {
          const legacy = keys.licence(id);
          const versions = keys.licenceVersions(id);
          return [
            { key: legacy, queue: (p) => p.get(legacy) },
            { key: versions, queue: (p) => p.hgetall(versions) },
          ];
        }),
      );
      const parse = (id: string, json: string): Licence => {
        try {
          return JSON.parse(json) as Licence;
        } catch (err) {
          throw new ReeError('REE_ERR_STATE', `licence ${id} in Redis is not JSON: ${errorMessage(err)}`, { cause: err });
        }
      };
      const found = new Map<string, Licence[]>();
      licenceIds.forEach((id, i) => {
        const legacy = replies[2 * i];
        const versions = (replies[2 * i + 1] ?? {}) as Record<string, string>;
        const all = [...(typeof legacy === 'string' ? [legacy] : []), ...Object.values(versions)].map((json) => parse(id, json));
        if (all.length > 0) found.set(id, inEffectiveOrder(all));
      });
      return found;
    },

    async putWatchlistEntry(entry) {
      // Entry first, version after: a reader that sees the new version finds the entry.
      await send('store a watchlist entry', () => {
        const { entryId } = entry;
        const text = JSON.stringify(entry);
        return [
          { key: keys.watchlistEntries(), queue: (p) => p.hset(keys.watchlistEntries(), entryId, text) },
          { key: keys.watchlistVersion(), queue: (p) => p.incr(keys.watchlistVersion()) },
        ];
      });
    },

    async deleteWatchlistEntry(entryId) {
      await send('delete a watchlist entry', () => [
        { key: keys.watchlistEntries(), queue: (p) => p.hdel(keys.watchlistEntries(), entryId) },
        { key: keys.watchlistVersion(), queue: (p) => p.incr(keys.watchlistVersion()) },
      ]);
    },

    async watchlistVersion() {
      const [reply] = await send('read the watchlist version', () => [{ key: keys.watchlistVersion(), queue: (p) => p.get(keys.watchlistVersion()) }]);
      return typeof reply === 'string' ? reply : '0';
    },

    async getWatchlist() {
      const [reply] = await send('read the watchlist', () => [{ key: keys.watchlistEntries(), queue: (p) => p.hvals(keys.watchlistEntries()) }]);
      const entries = (reply as string[]).map((text) => parseStored<WatchlistEntry>(text, 'watchlist entry'));
      return entries.sort((a, b) => (a.entryId < b.entryId ? -1 : a.entryId > b.entryId ? 1 : 0));
    },

    async recordClients(sightings) {
      if (sightings.length === 0) return [];
      const [reply] = await send('record clients seen', () => [scripts.recordClients(sightings)]);
      return scripts.decodeRecordClients(reply);
    },

    async getClients() {
      const [reply] = await send('read clients seen', () => [{ key: keys.clients(), queue: (p) => p.hgetall(keys.clients()) }]);
      return Object.entries(reply as Record<string, string>)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([, text]) => parseStored<ClientSighting>(text, 'client sighting'));
    },

    async unpublishedAlerts(alerts) {
      // GETEX rather than GET: a finding that keeps recurring (a standing deficit, a quota still
      // overrun) keeps its alertId, so its marker must live as long as it is still asked about, or
      // the alert would be published again once the marker ran out. The marker's value is the
      // highest revision published; markers written before revisions hold '1', which reads the same.
      const refs = alerts.map(refOf);
      const replies = await send('read published alerts', () =>
        refs.map(({ alertId }) => {
          const key = keys.publishedAlert(alertId);
          return { key, queue: (p) => p.getex(key, 'EX', publishedAlertTtlSeconds) };
        }),
      );
      return refs.filter((ref, i) => (replies[i] === null ? 0 : Number(replies[i]) || 1) < ref.revision).map((ref) => ref.alertId);
    },

    async markAlertsPublished(alerts) {
      // A plain SET: the revisions of one alertId come from one producer's owner, in order.
      await send('mark alerts published', () =>
        alerts.map(refOf).map(({ alertId, revision }) => {
          const key = keys.publishedAlert(alertId);
          return { key, queue: (p) => p.set(key, String(revision), 'EX', publishedAlertTtlSeconds) };
        }),
      );
    },

    async claimAlerts(alerts, claimant) {
      if (alerts.length === 0) return [];
      const replies = await send('claim alerts', () => alerts.map(refOf).map(({ alertId, revision }) => scripts.claimAlert(alertId, revision, claimant.path, claimValue(claimant), CLAIM_TTL_MS)));
      return replies.map((reply) => {
        if (reply === 'claimed' || reply === 'published' || reply === 'other-path') return reply as ClaimOutcome;
        throw new ReeError('REE_ERR_STATE', `claiming an alert returned an unexpected reply: ${JSON.stringify(reply)}`);
      });
    },

    async releaseClaims(alerts, claimant) {
      if (alerts.length === 0) return;
      const holder = claimant ? claimValue(claimant) : '';
      await send('release alert claims', () => alerts.map(refOf).map(({ alertId, revision }) => scripts.releaseClaim(alertId, revision, holder)));
    },

    async claimHolders(alerts) {
      if (alerts.length === 0) return [];
      const replies = await send('read alert claims', () =>
        alerts.map(refOf).map(({ alertId, revision }) => {
          const key = keys.alertClaim(alertId, revision);
          return { key, queue: (p) => p.get(key) };
        }),
      );
      return replies.map((reply) => (typeof reply === 'string' ? claimantOf(reply) : undefined));
    },

    async close() {
      if (closed) return;
      closed = true;
      if (!options.keepConnectionOpen) await quitRedis(redis);
    },
  };
}
