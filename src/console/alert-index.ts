/**
 * The console's in-memory view of the alerts topic and the status topic: every alert with its
 * revisions and triage status, ordered newest first, answering the inbox's filtered, paged queries.
 * Pure (no I/O), so the feed, the API and tests drive it the same way.
 */
import type { Alert } from '../domain/events.ts';
import type { Label } from '../backtest/score.ts';
import type { AlertQuery } from './alert-query.ts';
import { initialStatus, type AlertStatus } from './alert-status.ts';

/** An alert as published; a later issue adds `revision` (absent on older records). */
export type PublishedAlert = Alert & { revision?: number | null };

export interface IndexedAlert {
  alert: PublishedAlert;
  /** Every revision received, oldest first; the last is `alert`. */
  revisions: PublishedAlert[];
  status: AlertStatus;
}

/** One row of the inbox: the contract fields of the latest revision plus where triage stands. */
export type AlertRow = PublishedAlert & { revisions: number; status: AlertStatus['status']; assignee: string | null };

export interface AlertPage {
  total: number;
  offset: number;
  limit: number;
  alerts: AlertRow[];
  /** Over every alert the filters match, not just this page. */
  counts: { rule: Record<string, number>; severity: Record<string, number>; status: Record<string, number> };
}

export interface RuleRates {
  ruleId: string;
  alerts: number;
  confirmed: number;
  falsePositive: number;
  open: number;
  /** confirmed / (confirmed + falsePositive); null until something was closed. */
  confirmedRate: number | null;
}

interface Entry extends IndexedAlert {
  /** Lower-cased text the search box matches. */
  haystack: string;
  /** Arrival order, breaking ties between equal detectedAt. */
  seq: number;
}

export interface AlertIndex {
  /** Returns what changed: a new alert, a new revision, or nothing (a duplicate delivery). */
  addAlert(alert: PublishedAlert): 'new' | 'revised' | 'duplicate';
  /** Applies a status record from the status topic (the whole history for that alert). */
  setStatus(status: AlertStatus): void;
  get(alertId: string): IndexedAlert | undefined;
  /** The status to build the next change on, even for an alert not (yet) indexed. */
  statusOf(alertId: string): AlertStatus;
  query(query: AlertQuery): AlertPage;
  row(alertId: string): AlertRow | undefined;
  rates(): RuleRates[];
  /** Confirmed alerts as DESIGN.md labels, for `backtest --labels`. */
  confirmedLabels(): Label[];
  /** How many alerts name this producer, client or licence. */
  relatedCount(field: 'producerId' | 'clientId' | 'licenceId', value: string): number;
  size(): number;
}

/** Material is not an Alert field; the rules that deal with one name it in the evidence. */
export function materialOf(alert: Alert): string | null {
  return alert.evidence.material ?? null;
}

function haystackOf(alert: PublishedAlert): string {
  return [alert.alertId, alert.ruleId, alert.summary, alert.producerId, alert.clientId ?? '', alert.licenceId ?? '', ...alert.subjectEventIds, ...Object.values(alert.evidence)]
    .join('\n')
    .toLowerCase();
}

/** Same revision number, or (without numbers) the same content: a redelivery, not a change. */
function isSameRevision(a: PublishedAlert, b: PublishedAlert): boolean {
  if (a.revision != null && b.revision != null) return a.revision === b.revision;
  const { detectedAt: _a, ...restA } = a;
  const { detectedAt: _b, ...restB } = b;
  return JSON.stringify(restA) === JSON.stringify(restB);
}

function olderFirst(a: Entry, b: Entry): number {
  return a.alert.detectedAt - b.alert.detectedAt || a.seq - b.seq;
}

type RelatedField = 'producerId' | 'clientId' | 'licenceId';
const RELATED_FIELDS: readonly RelatedField[] = ['producerId', 'clientId', 'licenceId'];

export function createAlertIndex(): AlertIndex {
  const entries = new Map<string, Entry>();
  /**
   * Oldest first, kept sorted on insert: a new alert is almost always the newest, so it is appended
   * (no shifting of 100 k entries); queries walk it from the end.
   */
  const ordered: Entry[] = [];
  /** How many alerts each producer / client / licence has, for the alert page's links. */
  const relatedCounts = new Map<RelatedField, Map<string, number>>(RELATED_FIELDS.map((f) => [f, new Map()]));
  const countRelated = (alert: PublishedAlert, delta: 1 | -1) => {
    for (const field of RELATED_FIELDS) {
      const value = alert[field];
      if (!value) continue;
      const counts = relatedCounts.get(field)!;
      counts.set(value, (counts.get(value) ?? 0) + delta);
    }
  };
  /** Status records can arrive before their alert (two topics, no order between them). */
  const pendingStatus = new Map<string, AlertStatus>();
  let seq = 0;

  function place(entry: Entry): void {
    let lo = 0;
    let hi = ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (olderFirst(ordered[mid]!, entry) <= 0) lo = mid + 1;
      else hi = mid;
    }
    ordered.splice(lo, 0, entry);
  }

  function unplace(entry: Entry): void {
    const at = ordered.lastIndexOf(entry);
    if (at >= 0) ordered.splice(at, 1);
  }

  function toRow(entry: Entry): AlertRow {
    return { ...entry.alert, revisions: entry.revisions.length, status: entry.status.status, assignee: entry.status.assignee };
  }

  function matches(entry: Entry, q: AlertQuery): boolean {
    const a = entry.alert;
    if (q.rule && a.ruleId !== q.rule) return false;
    if (q.severity && a.severity !== q.severity) return false;
    if (q.status && entry.status.status !== q.status) return false;
    if (q.producer && a.producerId !== q.producer) return false;
    if (q.client && a.clientId !== q.client) return false;
    if (q.licence && a.licenceId !== q.licence) return false;
    if (q.material && materialOf(a) !== q.material) return false;
    if (q.from !== undefined && a.eventTime < q.from) return false;
    if (q.to !== undefined && a.eventTime > q.to) return false;
    if (q.q && !entry.haystack.includes(q.q.toLowerCase())) return false;
    return true;
  }

  const bump = (counts: Record<string, number>, key: string) => {
    counts[key] = (counts[key] ?? 0) + 1;
  };

  return {
    addAlert(alert) {
      const existing = entries.get(alert.alertId);
      if (existing) {
        if (existing.revisions.some((r) => isSameRevision(r, alert))) return 'duplicate';
        existing.revisions.push(alert);
        existing.revisions.sort((x, y) => (x.revision ?? 0) - (y.revision ?? 0) || x.detectedAt - y.detectedAt);
        const latest = existing.revisions[existing.revisions.length - 1]!;
        if (latest !== existing.alert) {
          unplace(existing);
          countRelated(existing.alert, -1);
          countRelated(latest, 1);
          existing.alert = latest;
          existing.haystack = haystackOf(latest);
          existing.seq = ++seq;
          place(existing);
        }
        return 'revised';
      }
      const status = pendingStatus.get(alert.alertId) ?? initialStatus(alert.alertId);
      pendingStatus.delete(alert.alertId);
      const entry: Entry = { alert, revisions: [alert], status, haystack: haystackOf(alert), seq: ++seq };
      entries.set(alert.alertId, entry);
      countRelated(alert, 1);
      place(entry);
      return 'new';
    },

    setStatus(status) {
      const entry = entries.get(status.alertId);
      if (entry) entry.status = status;
      else pendingStatus.set(status.alertId, status);
    },

    get: (alertId) => entries.get(alertId),

    statusOf(alertId) {
      return entries.get(alertId)?.status ?? pendingStatus.get(alertId) ?? initialStatus(alertId);
    },

    query(q) {
      const counts: AlertPage['counts'] = { rule: {}, severity: {}, status: {} };
      const page: AlertRow[] = [];
      let total = 0;
      for (let i = ordered.length - 1; i >= 0; i -= 1) {
        const entry = ordered[i]!;
        if (!matches(entry, q)) continue;
        if (total >= q.offset && page.length < q.limit) page.push(toRow(entry));
        total += 1;
        bump(counts.rule, entry.alert.ruleId);
        bump(counts.severity, entry.alert.severity);
        bump(counts.status, entry.status.status);
      }
      return { total, offset: q.offset, limit: q.limit, alerts: page, counts };
    },

    row(alertId) {
      const entry = entries.get(alertId);
      return entry ? toRow(entry) : undefined;
    },

    rates() {
      const byRule = new Map<string, RuleRates>();
      for (const entry of ordered) {
        const ruleId = entry.alert.ruleId;
        let r = byRule.get(ruleId);
        if (!r) byRule.set(ruleId, (r = { ruleId, alerts: 0, confirmed: 0, falsePositive: 0, open: 0, confirmedRate: null }));
        r.alerts += 1;
        if (entry.status.status === 'CONFIRMED') r.confirmed += 1;
        else if (entry.status.status === 'FALSE_POSITIVE') r.falsePositive += 1;
        else r.open += 1;
      }
      for (const r of byRule.values()) {
        const closed = r.confirmed + r.falsePositive;
        r.confirmedRate = closed === 0 ? null : r.confirmed / closed;
      }
      return [...byRule.values()].sort((a, b) => a.ruleId.localeCompare(b.ruleId));
    },

    confirmedLabels() {
      const labels: Label[] = [];
      for (const entry of ordered) {
        if (entry.status.status !== 'CONFIRMED') continue;
        const a = entry.alert;
        // A growing finding's earlier revisions named reports too; all of them are the anomaly.
        const subjects = [...new Set(entry.revisions.flatMap((r) => r.subjectEventIds))];
        labels.push({ anomalyId: `verdict:${a.alertId}`, ruleId: a.ruleId, producerId: a.producerId, subjectEventIds: subjects, clientId: a.clientId ?? null, licenceId: a.licenceId ?? null });
      }
      return labels;
    },

    relatedCount: (field, value) => relatedCounts.get(field)!.get(value) ?? 0,

    size: () => entries.size,
  };
}
