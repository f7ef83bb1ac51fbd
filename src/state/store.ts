/**
 * The store contract. Two parts, one suite of tests (test/helpers/store-contract.ts) for both:
 *
 * - The balance book, kept by the state engine (engine/balance-book.ts, engine-store.ts): the
 *   pipeline turns each report into a StateUpdate (pure), applies a batch, and hands each
 *   ApplyResult to the rules. Applying is idempotent per reportId: a redelivered report changes
 *   nothing and gets back the very result its first delivery got, so the rules reach the same
 *   findings (and the same alert ids) if a crash came between state and alerts.
 * - StateStore: the reference data beside it (licences, the watchlist, clients seen) and the
 *   published-alert markers and claims, in memory (memory-reference.ts) or in Redis
 *   (redis-reference.ts).
 */
import type { Licence, WatchlistEntry } from '../domain/events.ts';

/** An alert as the published markers know it: its id and revision (a bare id is revision 1). */
export type AlertRef = string | { alertId: string; revision: number };

export const refOf = (ref: AlertRef): { alertId: string; revision: number } => (typeof ref === 'string' ? { alertId: ref, revision: 1 } : ref);

/** The two ways a finding goes out: a report batch's transaction (or a timer pass), and a watchlist change's. */
export type PublishingPath = 'reports' | 'watchlist';

/** Who claims a finding before sending it: a publishing path, and the Kafka transaction it goes out in. */
export interface AlertClaimant {
  path: PublishingPath;
  txn: string;
  /**
   * The watchlist path's: the watchlist partition whose journal holds the transaction while its
   * claims stand, so a report transaction can tell a claim whose holder is gone (pipeline.ts).
   */
  partition?: number | undefined;
}

/** A claim as stored: the path first, so a claim of the other path is told by its first word. */
export const claimValue = (claimant: AlertClaimant): string => [claimant.path, claimant.txn, ...(claimant.partition === undefined ? [] : [String(claimant.partition)])].join(' ');

/** The claimant a stored claim names (claimValue read back). */
export function claimantOf(value: string): AlertClaimant | undefined {
  const [path, txn, partition] = value.split(' ');
  if ((path !== 'reports' && path !== 'watchlist') || !txn) return undefined;
  return { path, txn, ...(partition === undefined ? {} : { partition: Number(partition) }) };
}

/**
 * What a claim found: `claimed`, the claimant's path may send the alert (there was no claim, or
 * one of the same path's, which this transaction takes over); `published`, a marker says it went
 * out at this revision or a higher one; `other-path`, the other path holds it.
 */
export type ClaimOutcome = 'claimed' | 'published' | 'other-path';

export type FlowKind = 'produced' | 'received' | 'consumed' | 'shipped' | 'exported';
export const FLOW_KINDS: readonly FlowKind[] = ['produced', 'received', 'consumed', 'shipped', 'exported'];

/** Outflows put the book balance at risk, so a day with one gets a deficit check. */
export const OUTFLOW_KINDS: readonly FlowKind[] = ['consumed', 'shipped'];

export interface Flow {
  material: string;
  kind: FlowKind;
  kg: number;
}

export interface StateUpdate {
  reportId: string;
  producerId: string;
  occurredAt: number;
  /** Quantities added to the producer's daily buckets (day of occurredAt). */
  flows: Flow[];
  /** Declared stock on hand at the end of the day of occurredAt. */
  declaration?: { material: string; onHandKg: number } | undefined;
  /** Quantity counted against a licence's quota (only for exports that fit the licence). */
  licenceUse?: { licenceId: string; kg: number } | undefined;
  /** How long after a day ends its balance checks wait for late reports (event time). */
  graceMs: number;
}

/** The totals of each flow kind over a period of days. */
export type FlowTotals = Record<FlowKind, number>;

/**
 * A balance check whose grace period has passed on the producer's own clock (the largest occurredAt
 * among its reports). `deficit`: a day with outflows; `stock`: a day with a stock declaration.
 */
export interface FiredCheck {
  kind: 'deficit' | 'stock';
  material: string;
  day: number;
  /** The stock declaration the period starts from (its day and kg), or null when none came before. */
  opening: { day: number; kg: number } | null;
  /** Flows over the days after the opening declaration up to and including `day`. */
  totals: FlowTotals;
  /** opening.kg + produced + received - consumed - shipped over that period: the book balance at the end of `day`. */
  bookKg: number;
  /** For `stock`: the declared stock on `day`. */
  declaredKg?: number | undefined;
  /** reportIds behind the check: the outflow reports of that day, or the stock declaration. */
  subjectIds: string[];
}

export interface ApplyResult {
  reportId: string;
  duplicate: boolean;
  /** The producer's clock after this report. */
  watermark: number;
  /** kg used under update.licenceUse.licenceId before and after this report. */
  licenceUsedBeforeKg?: number | undefined;
  licenceUsedAfterKg?: number | undefined;
  /** Checks that fell due as this report moved the producer's clock, oldest due first. */
  checks: FiredCheck[];
}

/**
 * A client name seen on an export: what a new watchlist entry is screened against. The store keeps
 * the first sighting (smallest occurredAt, then reportId) per producer, client id and name: each
 * exporter to a listed client is its own finding, and its subject is that first shipment whether
 * the entry was listed before or after it (watchlist-match).
 */
export interface ClientSighting {
  clientId: string;
  clientName: string;
  producerId: string;
  reportId: string;
  occurredAt: number;
  /** The shipment's material: the watchlist-match parameters and switch are per material. */
  material: string;
}

/** Whether sighting `a` comes before `b`: event time, then reportId, so any arrival order agrees. */
export const isEarlierSighting = (a: ClientSighting, b: ClientSighting): boolean =>
  a.occurredAt !== b.occurredAt ? a.occurredAt < b.occurredAt : a.reportId < b.reportId;

/** Reference data and published-alert markers: what the pipeline reads and writes beside engine state. */
export interface StateStore {
  /**
   * Keeps a version of a licence, in effect from its effectiveAt (absent: issuedAt). A record with
   * the effective time of a version already held replaces that version (a correction); records
   * with other times add versions, whatever order they arrive in.
   */
  putLicence(licence: Licence): Promise<void>;
  /** Deletes the licence, every version of it (a tombstone). */
  deleteLicence(licenceId: string): Promise<void>;
  /** Looks up many licences at once: each one's versions, oldest effective first; missing ones are absent. */
  getLicenceVersions(licenceIds: string[]): Promise<Map<string, Licence[]>>;

  putWatchlistEntry(entry: WatchlistEntry): Promise<void>;
  deleteWatchlistEntry(entryId: string): Promise<void>;
  /** Changes whenever the watchlist does, so a reader can keep its own copy until it moves. */
  watchlistVersion(): Promise<string>;
  /** The whole watchlist, ordered by entryId. */
  getWatchlist(): Promise<WatchlistEntry[]>;

  /**
   * Keeps the first sighting per producer, client id and name (isEarlierSighting); returns, for
   * each sighting given, the one kept for its producer, client id and name.
   */
  recordClients(sightings: ClientSighting[]): Promise<ClientSighting[]>;
  /** Every client seen so far, ordered by producerId, clientId, then clientName. */
  getClients(): Promise<ClientSighting[]>;

  /**
   * Which of these alerts have not been published yet at their revision (order kept): a marker
   * remembers the highest revision published per alertId, so a higher revision is news and the
   * same or a lower one is not. A bare id means revision 1.
   */
  unpublishedAlerts(alerts: readonly AlertRef[]): Promise<string[]>;
  /** Records alerts as published at their revision, after the alert producer has them durable. */
  markAlertsPublished(alerts: readonly AlertRef[]): Promise<void>;
  /**
   * Claims each alert at its revision for the claimant's path, in one atomic step per alert (with
   * the published marker read in the same step): the outcome per alert, order kept. For the one
   * finding both paths make (watchlist-match, pipeline.ts): whichever path claims it first sends
   * it, and the other leaves it, however close together they come on two instances. A claim lasts
   * until released (at most a lease of CLAIM_TTL_MS in Redis, renewed by each claim).
   */
  claimAlerts(alerts: readonly AlertRef[], claimant: AlertClaimant): Promise<ClaimOutcome[]>;
  /**
   * Drops claims. With a claimant, only the claims that claimant's transaction holds (an attempt
   * that did not commit lets go of what it claimed); without, any claim (the alerts are marked
   * published, which says the rest from now on).
   */
  releaseClaims(alerts: readonly AlertRef[], claimant?: AlertClaimant): Promise<void>;
  /** Who holds each alert's claim at its revision, if anyone (order kept). */
  claimHolders(alerts: readonly AlertRef[]): Promise<(AlertClaimant | undefined)[]>;

  close(): Promise<void>;
}

/** Outflow reportIds kept per day for a check's subjects; beyond this they are counted, not listed. */
export const MAX_SUBJECT_IDS = 50;
/** How long a report's result is kept for redeliveries, in seconds of the producer's clock (book-timing.ts). */
export const SEEN_TTL_SECONDS = 14 * 24 * 3600;
/**
 * Days of book kept behind the producer's clock. Applying a report prunes each material the report
 * touches: with cutoff = dayOf(clock) - RETENTION_DAYS and A the latest stock declaration on or
 * before the cutoff, A's declaration stays (it opens every book after A), and the flow buckets and
 * outflow lists of days <= A and the declarations before A go. No book of a day after A reads them.
 *
 * A check of a day <= A fell due by dayEnd(A) + grace, long before the clock reached
 * dayEnd(A) + RETENTION_DAYS days, as long as grace stays below RETENTION_DAYS (rules allow at most
 * 92 days), so pending checks are never pruned ahead of firing. Only a report arriving more than
 * RETENTION_DAYS late for a pruned period is judged against the pruned book (its check fires at
 * once, from A's declaration or with what is left), and whatever it adds there goes at the next
 * prune of that material. A material never declared has no opening to prune up to and keeps all
 * of its days.
 */
export const RETENTION_DAYS = 120;
