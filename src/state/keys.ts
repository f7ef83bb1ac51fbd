/**
 * The one place Redis key names are made. Every key is `${prefix}:{${tag}}:${kind}`: the braces
 * make `tag` the Redis Cluster hash tag, so all keys of one producer share a slot (a script may
 * touch several of them) while different producers spread over the cluster. Licences and
 * published-alert markers belong to no producer; each gets its own tag and is only ever used
 * by single-key commands.
 */
import { ReeError } from '../errors.ts';

/** The id alphabet of the event schemas: nothing that could open or close a hash tag. */
const KEY_PART = /^[A-Za-z0-9._:\-]+$/;
/** Generous for alert ids built from a rule, a producer and a digest; far below Redis limits. */
const MAX_KEY_PART_LENGTH = 512;

/** The state engine's (engine/redis-durability.ts): a producer's state hash and its owner epoch. */
export type ProducerKeyKind = 'state' | 'epoch';

export interface KeyBuilder {
  readonly prefix: string;
  producer(producerId: string, kind: ProducerKeyKind): string;
  /** Hash of a licence's versions: effective time (epoch ms) → the version as JSON. */
  licenceVersions(licenceId: string): string;
  /** A licence as one JSON string, as stores before licence versions kept it: read, never written. */
  licence(licenceId: string): string;
  publishedAlert(alertId: string): string;
  /** A path's claim on an alert at a revision, in its marker's slot (claimAlert-2.lua reads both). */
  alertClaim(alertId: string, revision: number): string;
  /** The watchlist and its version counter share one slot, so they can be read together. */
  watchlistEntries(): string;
  watchlistVersion(): string;
  /** Clients seen on exports, for retro-screening new watchlist entries. */
  clients(): string;
  /** The counter that hands out ownership epochs to state engine instances. */
  epochCounter(): string;
  /** Hash of a producer's production quotas (quotaId → JSON), in the producer's slot. */
  producerQuotas(producerId: string): string;
  /** Which producer a quota is filed under, so a quota moved to another producer leaves the first. */
  quotaOwner(quotaId: string): string;
  /** Both sides of one domestic transfer (redis-custody-ledger.ts): its own slot, shared by seller and buyer. */
  custody(shipmentId: string): string;
  /** The shared watermark: latest occurredAt per report-topic partition, and the watermark itself. */
  watermark(): string;
  /** Producers of one partition with pending rule timers or outboxes, scored by when. */
  timerIndex(partition: number): string;
  /** Per partition: the ownership epoch each producer's timer index entry was last set under. */
  timerEpochs(partition: number): string;
  /** The partitions that have a timer index. */
  timerPartitions(): string;
}

/**
 * Refuses a value that would change which key (or which slot) it names. A producer id holding a
 * brace could move its keys to another producer's slot.
 */
export function assertKeyPart(value: string, what: string): void {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_KEY_PART_LENGTH || !KEY_PART.test(value)) {
    throw new ReeError('REE_ERR_STATE', `${what} ${JSON.stringify(value)} cannot be part of a Redis key: use 1-${MAX_KEY_PART_LENGTH} letters, digits and . _ : -`, {
      context: { [what]: value },
    });
  }
}

export function createKeyBuilder(prefix: string): KeyBuilder {
  // A brace in the prefix would become the hash tag of every key, pinning all producers to one slot.
  if (prefix.length === 0 || /[{}\s]/.test(prefix)) {
    throw new ReeError('REE_ERR_CONFIG', `Redis key prefix ${JSON.stringify(prefix)} must be non-empty and contain no braces or spaces`);
  }
  const key = (tag: string, kind: string) => `${prefix}:{${tag}}:${kind}`;
  return {
    prefix,
    producer(producerId, kind) {
      assertKeyPart(producerId, 'producerId');
      return key(producerId, kind);
    },
    licenceVersions(licenceId) {
      assertKeyPart(licenceId, 'licenceId');
      return key(`lic:${licenceId}`, 'licence-versions');
    },
    licence(licenceId) {
      assertKeyPart(licenceId, 'licenceId');
      return key(`lic:${licenceId}`, 'licence');
    },
    publishedAlert(alertId) {
      assertKeyPart(alertId, 'alertId');
      return key(`alert:${alertId}`, 'published');
    },
    alertClaim(alertId, revision) {
      assertKeyPart(alertId, 'alertId');
      return key(`alert:${alertId}`, `claim:${revision}`);
    },
    watchlistEntries: () => key('watchlist', 'entries'),
    watchlistVersion: () => key('watchlist', 'version'),
    clients: () => key('clients', 'seen'),
    epochCounter() {
      return key('engine', 'epochs');
    },
    producerQuotas(producerId) {
      assertKeyPart(producerId, 'producerId');
      return key(producerId, 'quotas');
    },
    quotaOwner(quotaId) {
      assertKeyPart(quotaId, 'quotaId');
      return key(`quota:${quotaId}`, 'owner');
    },
    custody(shipmentId) {
      assertKeyPart(shipmentId, 'shipmentId');
      return key(`custody:${shipmentId}`, 'sides');
    },
    watermark: () => key('engine', 'watermark'),
    timerIndex(partition) {
      if (!Number.isSafeInteger(partition) || partition < 0) throw new ReeError('REE_ERR_STATE', `partition ${partition} is not a partition number`);
      return key('engine', `timers:${partition}`);
    },
    timerEpochs(partition) {
      if (!Number.isSafeInteger(partition) || partition < 0) throw new ReeError('REE_ERR_STATE', `partition ${partition} is not a partition number`);
      return key('engine', `timer-epochs:${partition}`);
    },
    timerPartitions: () => key('engine', 'timer-partitions'),
  };
}
