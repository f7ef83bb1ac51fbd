/**
 * The detector's core step, shared by `run` (Kafka + Redis) and `replay` (file + memory or Redis):
 * a batch of validated reports in, the alerts it newly finds out. A few store round trips per
 * batch, however large: licences with client sightings and export prices, the watchlist version
 * (the list itself only when it changed), apply, published-alert check.
 */
import type { Catalogue } from '../domain/catalogue.ts';
import type { Alert, Licence, Report, ShipmentReport, WatchlistEntry } from '../domain/events.ts';
import { licenceVersionAt } from '../domain/licence-versions.ts';
import type { RuleSet } from '../config/rules-file.ts';
import { graceMsOf, type VolumeMismatchParams } from '../rules/volume-mismatch.ts';
import { severityFor } from '../rules/severity.ts';
import type { AlertDraft, RuleInput } from '../rules/rule.ts';
import { retroScreen, sightingOf, type WatchlistMatchParams } from '../rules/watchlist-match.ts';
import { buildWatchlistIndex, type WatchlistIndex } from '../screening/watchlist-index.ts';
import type { ClientSighting, PriceObservation, StateStore } from '../state/store.ts';
import { ProducerState } from '../state/engine/producer-state.ts';
import { ruleStateOf } from '../state/rule-state.ts';
import { alertIdFor } from './alert-id.ts';
import { createPublishGate, type PublishGate } from './publish-gate.ts';
import { toStateUpdate } from './to-update.ts';

export interface PipelineDeps {
  store: StateStore;
  rules: RuleSet;
  catalogue: Catalogue;
  /** Wall clock for Alert.detectedAt only; nothing else reads it. */
  now?: () => number;
}

export interface Pipeline {
  /** Applies the reports and returns the alerts not yet published, in a stable order. */
  process(reports: Report[]): Promise<Alert[]>;
  /**
   * Applies watchlist changes (null deletes) and screens each new or changed entry against the
   * clients seen so far; returns the alerts not yet published.
   */
  applyWatchlist(changes: { entryId: string; entry: WatchlistEntry | null }[]): Promise<Alert[]>;
  /** Call after the alerts are durable downstream. */
  markPublished(alerts: Alert[]): Promise<void>;
  /** Swaps the rules between batches (hot reload); the next batch uses the new set. */
  setRules(rules: RuleSet): void;
  rules(): RuleSet;
  /** Held from "published yet?" to the mark, by report batches (shared) and watchlist changes (alone). */
  gate: PublishGate;
}

const DEFAULT_GRACE_MS = 72 * 3_600_000;

const exportsOf = (reports: Report[]): ShipmentReport[] =>
  reports.flatMap((r) => (r.kind === 'shipments' && r.event.direction === 'EXPORT' ? [r.event] : []));

const priceOf = (s: ShipmentReport): PriceObservation => ({
  producerId: s.producerId,
  material: s.material,
  reportId: s.reportId,
  occurredAt: s.occurredAt,
  usdPerKg: Math.round((s.declaredValueUsd / s.quantityKg) * 10_000) / 10_000,
});

export function createPipeline(deps: PipelineDeps): Pipeline {
  let rules = deps.rules;
  const now = deps.now ?? Date.now;
  let watchlist: { version: string; index: WatchlistIndex } | undefined;

  /** The watchlist index, rebuilt only when the store's watchlist has changed since the last batch. */
  async function currentWatchlist(): Promise<WatchlistIndex> {
    const version = await deps.store.watchlistVersion();
    if (watchlist?.version !== version) watchlist = { version, index: buildWatchlistIndex(await deps.store.getWatchlist()) };
    return watchlist.index;
  }

  async function unpublished(found: Map<string, Alert>): Promise<Alert[]> {
    if (found.size === 0) return [];
    const fresh = new Set(await deps.store.unpublishedAlerts([...found.keys()]));
    return [...found.values()].filter((a) => fresh.has(a.alertId));
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

  function toAlert(ruleId: string, ruleVersion: number, draft: AlertDraft, bands: RuleSet['rules'][number]['bands']): Alert {
    return {
      alertId: alertIdFor(ruleId, draft.findingKey),
      ruleId,
      ruleVersion,
      severity: severityFor(draft.score, bands, draft.severityFloor),
      score: Math.round(draft.score * 1000) / 1000,
      producerId: draft.producerId,
      clientId: draft.clientId ?? null,
      licenceId: draft.licenceId ?? null,
      subjectEventIds: draft.subjectEventIds,
      summary: draft.summary,
      evidence: draft.evidence,
      eventTime: draft.eventTime,
      detectedAt: now(),
      windowStart: draft.windowStart ?? null,
      windowEnd: draft.windowEnd ?? null,
    };
  }

  return {
    async process(reports) {
      if (reports.length === 0) return [];
      // One rule set for the whole batch, even if a reload lands while the store call is out.
      const batchRules = rules;
      const licenceIds = new Set<string>();
      for (const r of reports) if (r.kind === 'shipments' && r.event.licenceId) licenceIds.add(r.event.licenceId);
      const exports = exportsOf(reports);
      // Clients are recorded before the watchlist is read, and a new entry is stored before the
      // clients are read (applyWatchlist): whichever of a shipment and an entry comes second sees
      // the other, so a match is never missed between two instances.
      const [licences, prices, firstSeen] = await Promise.all([
        licenceIds.size > 0 ? deps.store.getLicenceVersions([...licenceIds]) : new Map<string, Licence[]>(),
        deps.store.observePrices(exports.map(priceOf)),
        deps.store.recordClients(exports.map(sightingOf)),
      ]);
      const watchlistIndex = await currentWatchlist();
      const historyOf = new Map(exports.map((s, i) => [s.reportId, prices[i]!]));
      const firstSeenOf = new Map(exports.map((s, i) => [s.reportId, firstSeen[i]!]));
      // The version in effect when the goods went, whenever its record arrived.
      const licenceOf = (r: Report): Licence | null =>
        r.kind === 'shipments' && r.event.licenceId ? licenceVersionAt(licences.get(r.event.licenceId) ?? [], r.event.occurredAt) : null;

      const results = await deps.store.applyBatch(reports.map((r) => toStateUpdate(r, licenceOf(r), graceFor(batchRules, r))));

      const found = new Map<string, Alert>();
      reports.forEach((report, i) => {
        const input: RuleInput = {
          report,
          result: results[i]!,
          licence: licenceOf(report),
          catalogue: deps.catalogue,
          priceHistory: historyOf.get(report.event.reportId),
          watchlist: watchlistIndex,
          clientFirstSeen: firstSeenOf.get(report.event.reportId),
          // Interim, until rule state runs on the engine: no rule keeps state yet.
          state: ruleStateOf(new ProducerState(report.event.producerId), 'none'),
          watermark: -Infinity,
        };
        for (const settings of batchRules.rules) {
          // Judged per draft, not per report: a report can bring due a balance check of another
          // material, and switching a rule off for the report's material must not swallow it.
          const drafts = settings.rule.evaluate(input, settings.paramsFor(report.event.producerId));
          for (const draft of drafts) {
            if (!settings.enabled(report.event.producerId, draft.material ?? report.event.material)) continue;
            const alert = toAlert(settings.rule.id, settings.rule.version, draft, settings.bands);
            // Within a batch the first report to reach a finding owns it.
            if (!found.has(alert.alertId)) found.set(alert.alertId, alert);
          }
        }
      });
      return unpublished(found);
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
          const alert = toAlert(settings.rule.id, settings.rule.version, draft, settings.bands);
          if (!found.has(alert.alertId)) found.set(alert.alertId, alert);
        }
      }
      return unpublished(found);
    },
    async markPublished(alerts) {
      if (alerts.length > 0) await deps.store.markAlertsPublished(alerts.map((a) => a.alertId));
    },
    setRules(next) {
      rules = next;
    },
    rules: () => rules,
    gate: createPublishGate(),
  };
}
