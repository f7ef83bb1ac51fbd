/**
 * The detector's core step, shared by `run` (Kafka + Redis) and `replay` (file + memory or Redis):
 * a batch of validated reports in, the alerts it newly finds out; and, after each batch, the rule
 * timers the event-time watermark has passed.
 *
 * A batch's book apply and every rule's evaluate run inside one `engine.run`, so the rules' cells,
 * their timers and the alerts found (the producer's outbox) are saved in the same fenced save as
 * the balance book. A report already applied (a redelivery) is not evaluated again: its alerts come
 * back from the outbox until they are published.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Catalogue } from '../domain/catalogue.ts';
import type { Alert, Licence, ProductionQuota, Report, ShipmentReport, WatchlistEntry } from '../domain/events.ts';
import { licenceVersionAt } from '../domain/licence-versions.ts';
import type { RuleSet } from '../config/rules-file.ts';
import { graceMsOf, type VolumeMismatchParams } from '../rules/volume-mismatch.ts';
import type { RuleId, RuleInput } from '../rules/rule.ts';
import { retroScreen, sightingOf, type WatchlistMatchParams } from '../rules/watchlist-match.ts';
import { buildWatchlistIndex, type WatchlistIndex } from '../screening/watchlist-index.ts';
import { createMemoryCustodyLedger, type CustodyEntry, type CustodyLedger, type CustodyRecord } from '../state/custody-ledger.ts';
import { applyToBook } from '../state/engine/balance-book.ts';
import { StateEngine } from '../state/engine/engine.ts';
import type { ProducerState } from '../state/engine/producer-state.ts';
import { PriceHistory } from '../state/engine/price-history.ts';
import { createMemoryQuotaRegister, type QuotaRegister } from '../state/quota-register.ts';
import { peekDueTimers, popDueTimers, ruleStateOf, ruleStatesFor } from '../state/rule-state.ts';
import { ReeError } from '../errors.ts';
import type { AlertClaimant, ApplyResult, ClaimOutcome, PublishingPath, StateStore } from '../state/store.ts';
import { custodyEntryOf } from './custody-entry.ts';
import { createKeyedLock } from './keyed-lock.ts';
import type { CommittedOffsets } from './committed-offsets.ts';
import { outboxOf, revisionOf, type SentIn } from './outbox.ts';
import { OutboxBook, pendingAt } from './outbox-book.ts';
import { createPublishGate, type PublishGate } from './publish-gate.ts';
import { rulesFor } from './rules-by-kind.ts';
import { createMemoryTimerIndex, type TimerIndex, type TimerIndexEntry } from './timer-index.ts';
import { keepHighest, toAlert } from './to-alert.ts';
import { toStateUpdate } from './to-update.ts';
import { createMemoryWatermark, latestBySource, type WatermarkTracker } from './watermark-tracker.ts';

export interface PipelineDeps {
  /** With an engine store (engine-store.ts) the book and rule state are saved with it; with a plain StateStore they live in this process only. */
  store: StateStore & { engine?: StateEngine };
  rules: RuleSet;
  catalogue: Catalogue;
  /** Both sides of domestic transfers (default: in memory). */
  custody?: CustodyLedger | undefined;
  /** Production quotas (default: in memory, empty unless the caller fills it). */
  quotas?: QuotaRegister | undefined;
  /** The event-time watermark (default: in memory, the default allowed lateness). */
  watermark?: WatermarkTracker | undefined;
  /** Producers with pending timers or outboxes, per partition (default: in memory). */
  timerIndex?: TimerIndex | undefined;
  /**
   * Live, with alerts sent in Kafka transactions: the committed input offsets, by which outbox
   * entries whose transaction has committed are dropped (outbox.ts).
   */
  committed?: CommittedOffsets | undefined;
  /**
   * Live: the alerts the other path's transactions hold in their journals and will see published,
   * highest revision by alertId (other-path-holds.ts): committed and not yet marked, or (a report
   * batch's) still in its producers' outboxes to be sent again.
   */
  heldByOtherPath?: ((asking: PublishingPath) => Promise<ReadonlyMap<string, number>>) | undefined;
  /**
   * Live: the state engine's ownership epoch, under which a run's save is made; the run's timer
   * index entries are set under it too, so a paused instance's late set is refused (timer-index.ts).
   */
  ownershipEpoch?: (() => Promise<number>) | undefined;
  /**
   * How long a report transaction waits for a watchlist-match the watchlist path has claimed to be
   * published or let go (default CONTESTED_WAIT_MS) before it fails as retriable.
   */
  contestedWaitMs?: number | undefined;
  /**
   * Live: whether a watchlist transaction holding a claim is still held in its partition's journal
   * (txn-journal.ts). Every live watchlist claim is: the hold comes before the claim and goes
   * after it. One that is not was made by a zombie after its successor settled the journal, and
   * its holder is gone: the report transaction waiting on it lets go of it (claimContested).
   */
  claimStillHeld?: ((holder: AlertClaimant) => Promise<boolean>) | undefined;
  /** Wall clock for Alert.detectedAt only; nothing else reads it. */
  now?: () => number;
}

export type { PublishingPath } from '../state/store.ts';

/** The one rule whose findings both paths make: a shipment to a listed client, and a listing of a client already seen. */
const BOTH_PATHS_RULE = 'watchlist-match';

/**
 * A watchlist transaction lives for milliseconds between its claim and its marks; only one whose
 * instance died holds a claim longer (until its partition's next owner lets go of it). Past this,
 * the report transaction fails as retriable and is redone, rather than hold its index.
 */
export const CONTESTED_WAIT_MS = 3_000;
/** How often a report transaction looks again at a claim the watchlist path holds. */
const CONTESTED_POLL_MS = 20;
/** After how many looks it asks whether the claim's holder is still there (claimStillHeld). */
const ORPHAN_CHECK_EVERY = 25;

const contestedIn = (alerts: readonly Alert[]): Alert[] => alerts.filter((a) => a.ruleId === BOTH_PATHS_RULE);
const refsOf = (alerts: readonly Alert[]) => alerts.map((a) => ({ alertId: a.alertId, revision: revisionOf(a) }));

/** Where a report was read: its watermark source (the partition number, across the report topics) and its partition index. */
export interface ReportOrigin {
  source: string;
  partition: number;
}

export interface Pipeline {
  /**
   * Applies the reports and returns the alerts not yet published (this batch's, and any its
   * producers' outboxes still hold), in a stable order. `origins` is index-aligned with `reports`;
   * by default every report counts as read on partition 0 of its topic.
   */
  process(reports: Report[], origins?: readonly ReportOrigin[], sending?: SentIn): Promise<Alert[]>;
  /**
   * Fires the rule timers the watermark has passed, for the producers of these partitions (default:
   * every partition the index knows), and re-sends outboxes not yet published.
   *
   * With `sending` (here and in process), what is returned goes out in that Kafka transaction: every
   * outbox entry not yet in it is tagged with it in the same save, and entries already in it are
   * not returned again.
   */
  fireTimers(partitions?: readonly number[], sending?: SentIn): Promise<Alert[]>;
  /**
   * Applies watchlist changes (null deletes) and screens each new or changed entry against the
   * clients seen so far; returns the alerts not yet published.
   */
  applyWatchlist(changes: { entryId: string; entry: WatchlistEntry | null }[]): Promise<Alert[]>;
  /**
   * Claims the watchlist-match alerts among these for the claimant's path and transaction
   * (store.ts claimAlerts) and returns the alerts it may send, order kept: the others, and those it
   * claimed. Those the other path holds or has published are left out. The watchlist path calls it
   * (watchlist-consumer.ts); a report transaction's are claimed inside process and fireTimers.
   */
  claim(alerts: readonly Alert[], claimant: AlertClaimant): Promise<Alert[]>;
  /** Lets go of what a transaction that did not commit claimed (store.ts releaseClaims). */
  releaseClaims(alerts: readonly Alert[], claimant: AlertClaimant): Promise<void>;
  /** Call after the alerts are durable downstream; their claims go too. */
  markPublished(alerts: Alert[]): Promise<void>;
  /** Swaps the rules between batches (hot reload); the next batch uses the new set. */
  setRules(rules: RuleSet): void;
  rules(): RuleSet;
  /** The watermark as last known. */
  watermark(): number;
  /** Held from "published yet?" to the mark, by report batches (shared) and watchlist changes (alone). */
  gate: PublishGate;
}

const DEFAULT_GRACE_MS = 72 * 3_600_000;

/** What a batch's reports ask of the stores before its run. */
interface BatchAsks {
  /** The licences its shipments name. */
  licenceIds: Set<string>;
  exports: ShipmentReport[];
  /** Custody sides (DOMESTIC shipments, receipts), and the index in the batch of each. */
  custodyEntries: CustodyEntry[];
  custodyAt: number[];
  /** Producers with production reports, in order of first report. */
  producing: Set<string>;
}

/** BatchAsks in one walk of the batch (it was four flatMaps and a loop, each list made anew). */
function asksOf(reports: readonly Report[]): BatchAsks {
  const asks: BatchAsks = { licenceIds: new Set(), exports: [], custodyEntries: [], custodyAt: [], producing: new Set() };
  for (let i = 0; i < reports.length; i += 1) {
    const r = reports[i]!;
    if (r.kind === 'production') asks.producing.add(r.event.producerId);
    if (r.kind === 'shipments') {
      if (r.event.licenceId) asks.licenceIds.add(r.event.licenceId);
      if (r.event.direction === 'EXPORT') asks.exports.push(r.event);
    }
    const entry = custodyEntryOf(r);
    if (entry) {
      asks.custodyEntries.push(entry);
      asks.custodyAt.push(i);
    }
  }
  return asks;
}

/** An export's declared USD/kg as its producer's price history keeps it (to 4 decimals). */
const historyPriceOf = (s: ShipmentReport): number => Math.round((s.declaredValueUsd / s.quantityKg) * 10_000) / 10_000;

const pricesOf = (state: ProducerState): PriceHistory => state.cell('prices', () => new PriceHistory());

/**
 * The batch's reports grouped by producer, each producer's in batch order (indices into `reports`).
 * A producer's state is cold by the time its next report comes in file order (a few hundred other
 * producers' reports in between), and each map and list it touches is then a cache miss; run
 * together, its reports find it warm. Producers' states are apart, so only each producer's own
 * order matters, and it is kept.
 */
function producerOrder(reports: readonly Report[]): number[] {
  const byProducer = new Map<string, number[]>();
  for (let i = 0; i < reports.length; i += 1) {
    const id = reports[i]!.event.producerId;
    const list = byProducer.get(id);
    if (list) list.push(i);
    else byProducer.set(id, [i]);
  }
  const order: number[] = [];
  for (const list of byProducer.values()) for (const i of list) order.push(i);
  return order;
}

/**
 * Puts the alerts found back in the order the batch's reports found them (producerOrder runs them
 * in another): each at the first report that found it, a report's own in the order it found them.
 * Alerts go out in that order, as they did when the reports ran in batch order.
 */
function inReportOrder(found: Map<string, Alert>, foundAt: ReadonlyMap<string, number>): void {
  if (found.size < 2) return;
  const entries = [...found].sort((a, b) => foundAt.get(a[0])! - foundAt.get(b[0])!);
  found.clear();
  for (const [alertId, alert] of entries) found.set(alertId, alert);
}

/** What one run over producers' state found: alerts per holding producer, and the index changes. */
interface RunOutcome {
  alerts: Alert[];
  holders: Map<string, string>;
  index: TimerIndexEntry[];
}

export function createPipeline(deps: PipelineDeps): Pipeline {
  let rules = deps.rules;
  const now = deps.now ?? Date.now;
  // The book and rule state live on the store's engine, or on one in this process if it has none.
  const engine = deps.store.engine ?? new StateEngine();
  const custody = deps.custody ?? createMemoryCustodyLedger();
  const quotas = deps.quotas ?? createMemoryQuotaRegister();
  const watermark = deps.watermark ?? createMemoryWatermark();
  const timerIndex = deps.timerIndex ?? createMemoryTimerIndex();
  const outboxes = new OutboxBook();
  const partitionLock = createKeyedLock<number>();
  let watchlist: { version: string; index: WatchlistIndex } | undefined;

  /** The watchlist index, rebuilt only when the store's watchlist has changed since the last batch. */
  async function currentWatchlist(): Promise<WatchlistIndex> {
    const version = await deps.store.watchlistVersion();
    if (watchlist?.version !== version) watchlist = { version, index: buildWatchlistIndex(await deps.store.getWatchlist(), watchlist?.index) };
    return watchlist.index;
  }

  /**
   * The alerts whose revision is not yet published; outbox entries found already published are
   * cleared at their producer's next run. Held by the other path (heldByOtherPath) counts as
   * published: that path has published it and its next owner marks it, or it sends it again.
   * In a report transaction (`sending`), a watchlist-match it would send is claimed first
   * (claimContested): the two paths may find it on two instances at once.
   */
  async function unpublished(outcome: Pick<RunOutcome, 'alerts' | 'holders'>, asking: PublishingPath, sending?: SentIn): Promise<Alert[]> {
    if (outcome.alerts.length === 0) return [];
    const contested = deps.heldByOtherPath && outcome.alerts.some((a) => a.ruleId === BOTH_PATHS_RULE);
    const [unmarked, heldElsewhere] = await Promise.all([
      deps.store.unpublishedAlerts(refsOf(outcome.alerts)),
      contested ? deps.heldByOtherPath!(asking) : undefined,
    ]);
    const fresh = new Set(unmarked);
    const candidates = new Set(outcome.alerts.filter((a) => fresh.has(a.alertId) && (heldElsewhere?.get(a.alertId) ?? 0) < revisionOf(a)));
    const published = asking === 'reports' && sending && contested ? await claimContested([...candidates], sending.txn) : new Set<Alert>();
    const out: Alert[] = [];
    for (const a of outcome.alerts) {
      const holder = outcome.holders.get(a.alertId);
      if (candidates.has(a) && !published.has(a)) {
        out.push(a);
        if (holder !== undefined) outboxes.handedOut(holder, [a]);
      } else if (holder !== undefined) outboxes.notePublished(holder, a.alertId, revisionOf(a));
    }
    return out;
  }

  /**
   * A report transaction's claim on the watchlist-matches it would send; returns those found
   * published meanwhile. What the watchlist path holds is waited for: that transaction is about to
   * commit (then marks it published) or fail (then lets go of it, and its change is screened again
   * on redelivery, which finds this path's claim). Leaving it to that path instead could lose it
   * (a change screened again under other rules need not find it); sending it now could send it
   * twice. A report path's claim needs no such care: its outbox sends the alert until it is
   * published, whatever becomes of this transaction.
   */
  async function claimContested(candidates: readonly Alert[], txn: string): Promise<Set<Alert>> {
    const published = new Set<Alert>();
    let waiting = contestedIn(candidates);
    const deadline = Date.now() + (deps.contestedWaitMs ?? CONTESTED_WAIT_MS);
    for (let look = 1; ; look += 1) {
      const outcomes: ClaimOutcome[] = await deps.store.claimAlerts(refsOf(waiting), { path: 'reports', txn });
      waiting.forEach((a, i) => outcomes[i] === 'published' && published.add(a));
      waiting = waiting.filter((_, i) => outcomes[i] === 'other-path');
      if (waiting.length === 0) return published;
      if (Date.now() >= deadline) {
        throw new ReeError('REE_ERR_UNAVAILABLE', `the watchlist path still holds ${waiting.length} watchlist-match alert(s) this batch found (first ${waiting[0]!.alertId}); the batch is retried`, {
          retriable: true,
        });
      }
      if (look % ORPHAN_CHECK_EVERY === 0) await letGoOfOrphans(waiting);
      else await sleep(CONTESTED_POLL_MS);
    }
  }

  /** Releases the claims on these alerts whose watchlist transaction is no longer held (claimStillHeld); the next look claims them. */
  async function letGoOfOrphans(waiting: readonly Alert[]): Promise<void> {
    const stillHeld = deps.claimStillHeld;
    if (!stillHeld) return;
    const holders = await deps.store.claimHolders(refsOf(waiting));
    await Promise.all(
      waiting.map(async (a, i) => {
        const holder = holders[i];
        if (holder?.path === 'watchlist' && holder.partition !== undefined && !(await stillHeld(holder))) await deps.store.releaseClaims(refsOf([a]), holder);
      }),
    );
  }

  /**
   * One grace per report, the longest among the materials it touches (a production report also
   * consumes its inputs): no material's check is judged before its own grace has passed.
   */
  function graceFor(ruleSet: RuleSet, report: Report): number {
    const vm = ruleSet.get<VolumeMismatchParams>('volume-mismatch');
    if (!vm) return DEFAULT_GRACE_MS;
    const params = vm.paramsFor(report.event.producerId);
    let grace = graceMsOf(params(report.event.material));
    if (report.kind === 'production') for (const input of report.event.inputs) grace = Math.max(grace, graceMsOf(params(input.material)));
    return grace;
  }

  /**
   * Runs `work` over the producers' state on the engine; each producer's outbox (published entries
   * cleared first) is what comes back: this run's alerts first, in the order found, then what was
   * waiting. The index is lowered before the save and set exactly after it.
   */
  async function runOnProducers(
    producers: ReadonlyMap<string, number>,
    sending: SentIn | undefined,
    work: (stateOf: (producerId: string) => ProducerState, found: Map<string, Alert>, holders: Map<string, string>) => void,
  ): Promise<RunOutcome> {
    // Taken before the run: the save inside it is made under this epoch or a later one of this
    // instance, and none of this instance's later runs of these producers can come before this set.
    const epoch = await deps.ownershipEpoch?.();
    const outcome = await engine.run(
      producers.keys(),
      (stateOf): RunOutcome => {
        const before = new Map<string, number | undefined>();
        for (const id of producers.keys()) {
          const state = stateOf(id);
          // Taken before published and committed entries are dropped: that is what the index holds,
          // so an outbox emptied here still moves the producer's index entry (else every timer pass
          // would visit it again).
          before.set(id, pendingAt(state));
          outboxes.clearPublished(state);
          if (deps.committed) outboxOf(state).removeCommitted(deps.committed.covers);
        }
        const found = new Map<string, Alert>();
        const foundHolders = new Map<string, string>();
        work(stateOf, found, foundHolders);
        // Sending in a transaction, the outboxes say what goes (tagged with it in this save);
        // otherwise this run's findings first, in the order found, then what was waiting.
        const alerts = sending ? [] : [...found.values()];
        const holders = sending ? new Map<string, string>() : foundHolders;
        const index: TimerIndexEntry[] = [];
        for (const [id, partition] of producers) {
          const state = stateOf(id);
          const waitingAlerts = sending ? outboxOf(state).handOut(sending) : outboxOf(state).alerts();
          for (const waiting of waitingAlerts) {
            if (!sending && found.has(waiting.alertId)) continue;
            alerts.push(waiting);
            holders.set(waiting.alertId, id);
          }
          const after = pendingAt(state);
          if (after !== before.get(id)) index.push({ partition, producerId: id, dueAt: after });
        }
        return { alerts, holders, index };
      },
      (o) => timerIndex.lower(o.index),
    );
    if (outcome.index.length > 0) await timerIndex.set(outcome.index, epoch);
    return outcome;
  }

  /** Keeps the alert in its producer's outbox and in this run's findings (highest revision wins). */
  function found(state: ProducerState, alert: Alert, into: Map<string, Alert>, holders: Map<string, string>): void {
    outboxOf(state).add(alert);
    keepHighest(into, alert);
    if (into.get(alert.alertId) === alert) holders.set(alert.alertId, state.producerId);
  }

  async function processBatch(reports: Report[], origins: readonly ReportOrigin[], sending: SentIn | undefined): Promise<Alert[]> {
    // One rule set for the whole batch, even if a reload lands while the store call is out.
    const batchRules = rules;
    const { licenceIds, exports, custodyEntries, custodyAt, producing } = asksOf(reports);
    // Clients are recorded before the watchlist is read, and a new entry is stored before the
    // clients are read (applyWatchlist): whichever of a shipment and an entry comes second sees
    // the other, so a match is never missed between two instances. Custody sides likewise: each
    // side is recorded and the record read back in one step, so the second side sees the first.
    const [licences, firstSeen, custodyRecords, quotasOf] = await Promise.all([
      licenceIds.size > 0 ? deps.store.getLicenceVersions([...licenceIds]) : new Map<string, Licence[]>(),
      deps.store.recordClients(exports.map(sightingOf)),
      custodyEntries.length > 0 ? custody.record(custodyEntries) : [],
      producing.size > 0 ? quotas.quotasOf([...producing]) : new Map<string, ProductionQuota[]>(),
    ]);
    const watchlistIndex = await currentWatchlist();
    const firstSeenOf = new Map(exports.map((s, i) => [s.reportId, firstSeen[i]!]));
    /** By index in the batch: the custody record after each custody side was recorded. */
    const custodyOf: (CustodyRecord | undefined)[] = [];
    custodyAt.forEach((at, k) => (custodyOf[at] = custodyRecords[k]));
    // The version in effect when the goods went, whenever its record arrived.
    const licenceOf = (r: Report): Licence | null =>
      r.kind === 'shipments' && r.event.licenceId ? licenceVersionAt(licences.get(r.event.licenceId) ?? [], r.event.occurredAt) : null;
    const licenceAt = reports.map(licenceOf);
    const updates = reports.map((r, i) => toStateUpdate(r, licenceAt[i] ?? null, graceFor(batchRules, r)));
    const batchWatermark = watermark.current();
    const producers = new Map<string, number>();
    reports.forEach((r, i) => {
      if (!producers.has(r.event.producerId)) producers.set(r.event.producerId, origins[i]!.partition);
    });
    const order = producerOrder(reports);
    /** Per alert found, the first report (in batch order) that found it. */
    const foundAt = new Map<string, number>();

    const outcome = await runOnProducers(producers, sending, (stateOf, into, holders) => {
      for (let k = 0; k < order.length; k += 1) {
        const i = order[k]!;
        const report = reports[i]!;
        const state = stateOf(report.event.producerId);
        const result: ApplyResult = applyToBook(state, updates[i]!);
        // Already applied: its rules ran then, and what they found is in the outbox until published.
        if (result.duplicate) continue;
        const isExport = report.kind === 'shipments' && report.event.direction === 'EXPORT';
        // Recorded whichever rules are on, so switching undervaluation on finds a history.
        const priceHistory = isExport ? pricesOf(state).observe(report.event.material, report.event.reportId, report.event.occurredAt, historyPriceOf(report.event)) : undefined;
        const applicable = rulesFor(batchRules, report.kind);
        if (applicable.length === 0) continue;
        const states = ruleStatesFor(state, applicable);
        // One input per report, each rule handed it with its own state in turn: rules read it
        // during evaluate and keep no reference to it (rule.ts), and 13 copies per report cost.
        const input: RuleInput = {
          report,
          result,
          licence: licenceAt[i] ?? null,
          catalogue: deps.catalogue,
          priceHistory,
          watchlist: watchlistIndex,
          // Only exports are recorded as sightings: no other report need look (a cold map's miss each).
          clientFirstSeen: isExport ? firstSeenOf.get(report.event.reportId) : undefined,
          state: states[0]!,
          watermark: batchWatermark,
          custody: custodyOf[i],
          quotas: report.kind === 'production' ? (quotasOf.get(report.event.producerId) ?? []) : undefined,
        };
        for (let r = 0; r < applicable.length; r += 1) {
          const settings = applicable[r]!;
          input.state = states[r]!;
          const drafts = settings.rule.evaluate(input, settings.paramsFor(report.event.producerId));
          for (const draft of drafts) {
            // Judged per draft, not per report: a report can bring due a balance check of another
            // material, and switching a rule off for the report's material must not swallow it.
            if (!settings.enabled(report.event.producerId, draft.material ?? report.event.material)) continue;
            const alert = toAlert(settings.rule.id, settings.rule.version, draft, settings.bands, now());
            foundAt.set(alert.alertId, Math.min(foundAt.get(alert.alertId) ?? i, i));
            found(state, alert, into, holders);
          }
        }
      }
      inReportOrder(into, foundAt);
    });
    // Only once the batch's state is durable does what it read count towards the watermark. The
    // published markers are read meanwhile: neither needs the other, and each is a round trip.
    const [, alerts] = await Promise.all([watermark.advance(latestBySource(origins.map((o) => o.source), reports.map((r) => r.event.occurredAt))), unpublished(outcome, 'reports', sending)]);
    return alerts;
  }

  /** Fires the timers of `due`, the partition's producers the index found due at `time`. */
  async function firePartition(partition: number, time: number, due: readonly string[], sending: SentIn | undefined): Promise<Alert[]> {
    if (due.length === 0) return [];
    const batchRules = rules;
    const producers = new Map(due.map((id) => [id, partition]));
    // Timers naming a shipment get its custody record as it stands now: looked up before the run,
    // which is synchronous (the first run only reads, so it saves nothing).
    const shipmentIds = await engine.run(producers.keys(), (stateOf) =>
      due.flatMap((id) => peekDueTimers(stateOf(id), time).flatMap((t) => (typeof t.payload.payload['shipmentId'] === 'string' ? [t.payload.payload['shipmentId']] : []))),
    );
    const records = shipmentIds.length > 0 ? await custody.get([...new Set(shipmentIds)]) : new Map<string, CustodyRecord>();
    // Transfers whose deadline timer has judged them: the ledger forgets them once that is durable.
    const judged: string[] = [];
    const outcome = await runOnProducers(producers, sending, (stateOf, into, holders) => {
      const timers = due.flatMap((producerId) => popDueTimers(stateOf(producerId), time).map((timer) => ({ producerId, timer })));
      // (dueAt, producerId, ruleId, key): each producer's queue is already in (dueAt, ruleId, key) order.
      timers.sort((a, b) => a.timer.dueAt - b.timer.dueAt || (a.producerId < b.producerId ? -1 : a.producerId > b.producerId ? 1 : 0));
      for (const { producerId, timer } of timers) {
        const { ruleId, key, payload } = timer.payload;
        const settings = batchRules.get(ruleId as RuleId);
        // A timer of a rule since removed from the rules file is dropped with nobody to judge it.
        if (!settings?.rule.onTimer) continue;
        const state = stateOf(producerId);
        const shipmentId = payload['shipmentId'];
        if (ruleId === 'custody-gap' && typeof shipmentId === 'string') judged.push(shipmentId);
        const drafts = settings.rule.onTimer(
          {
            producerId,
            key,
            dueAt: timer.dueAt,
            payload,
            state: ruleStateOf(state, ruleId),
            watermark: time,
            catalogue: deps.catalogue,
            custody: typeof shipmentId === 'string' ? records.get(shipmentId) : undefined,
          },
          settings.paramsFor(producerId),
        );
        const material = typeof payload['material'] === 'string' ? payload['material'] : undefined;
        for (const draft of drafts) {
          if (!settings.enabled(producerId, draft.material ?? material)) continue;
          found(state, toAlert(ruleId, settings.rule.version, draft, settings.bands, now()), into, holders);
        }
      }
    });
    // After the save: a crash before this leaves the record to the ledger's safety TTL. A receipt
    // arriving later still is judged by no one (its deadline passed), so nothing reads it again.
    if (judged.length > 0) await custody.forget(judged);
    return unpublished(outcome, 'reports', sending);
  }

  return {
    async process(reports, origins, sending) {
      if (reports.length === 0) return [];
      const from = origins ?? reports.map((): ReportOrigin => ({ source: 'all', partition: 0 }));
      if (from.length !== reports.length) throw new Error(`process: ${reports.length} reports but ${from.length} origins`);
      return partitionLock.with(
        from.map((o) => o.partition),
        () => processBatch(reports, from, sending),
      );
    },
    async fireTimers(partitions, sending) {
      const which = [...new Set(partitions ?? (await timerIndex.partitions()))].sort((a, b) => a - b);
      if (which.length === 0) return [];
      // Every partition's due producers in one look, holding all their locks so no batch of theirs
      // changes the index between the look and the firing; one watermark for all of them.
      return partitionLock.with(which, async () => {
        const time = watermark.current();
        const due = await timerIndex.dueIn(which, time);
        // The partitions' producers are disjoint, so their runs go side by side (each is a few
        // round trips: a batch's transaction at concurrency 1 fires every owned partition's);
        // their alerts still come back in partition order.
        const fired = await Promise.all(which.map((p) => firePartition(p, time, due.get(p) ?? [], sending)));
        return fired.flat();
      });
    },
    async applyWatchlist(changes) {
      const batchRules = rules;
      await Promise.all(changes.map((c) => (c.entry ? deps.store.putWatchlistEntry(c.entry) : deps.store.deleteWatchlistEntry(c.entryId))));
      const added = changes.flatMap((c) => (c.entry ? [c.entry] : []));
      const settings = batchRules.get<WatchlistMatchParams>('watchlist-match');
      if (added.length === 0 || !settings) return [];
      const clients = await deps.store.getClients();
      const found = new Map<string, Alert>();
      for (const entry of added) {
        // The same parameters and switch as live screening: per producer and material.
        const enabled = (producerId: string, material: string) => settings.enabled(producerId, material);
        for (const draft of retroScreen(entry, clients, (producerId) => settings.paramsFor(producerId), enabled)) {
          keepHighest(found, toAlert(settings.rule.id, settings.rule.version, draft, settings.bands, now()));
        }
      }
      // Not in any producer's state (a watchlist change is no producer's batch): the published
      // markers keep it from publishing again what a report batch or an earlier change has, and
      // live the report group's journals what a report batch committed and has not marked yet; its
      // own transaction and journal keep a redelivered change from doing so (watchlist-consumer.ts).
      return unpublished({ alerts: [...found.values()], holders: new Map() }, 'watchlist');
    },
    async claim(alerts, claimant) {
      const contested = contestedIn(alerts);
      if (contested.length === 0) return [...alerts];
      const outcomes = await deps.store.claimAlerts(refsOf(contested), claimant);
      const refused = new Set(contested.filter((_, i) => outcomes[i] !== 'claimed'));
      return alerts.filter((a) => !refused.has(a));
    },
    async releaseClaims(alerts, claimant) {
      const contested = contestedIn(alerts);
      if (contested.length > 0) await deps.store.releaseClaims(refsOf(contested), claimant);
    },
    async markPublished(alerts) {
      if (alerts.length === 0) return;
      const contested = contestedIn(alerts);
      // Marked, a claim says nothing more: whoever asks next finds the marker.
      await deps.store.markAlertsPublished(refsOf(alerts));
      if (contested.length > 0) await deps.store.releaseClaims(refsOf(contested));
      outboxes.markPublished(alerts);
    },
    setRules(next) {
      rules = next;
    },
    rules: () => rules,
    watermark: () => watermark.current(),
    gate: createPublishGate(),
  };
}
