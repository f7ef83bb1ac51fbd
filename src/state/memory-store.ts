/**
 * In-memory StateStore: the embedded default for `replay` and `demo`, and the reference the
 * Redis store is tested against. Single process only; nothing survives a restart.
 */
import type { Licence } from '../domain/events.ts';
import { effectiveTimeOf, inEffectiveOrder } from '../domain/licence-versions.ts';
import { dayEnd, dayOf } from '../domain/time.ts';
import { createMemoryReference } from './memory-reference.ts';
import { addFlow, declareStock, emptyBook, fireChecks, pruneBook, type MaterialBook } from './balance.ts';
import {
  refOf,
  MAX_SUBJECT_IDS,
  OUTFLOW_KINDS,
  RETENTION_DAYS,
  SEEN_TTL_SECONDS,
  type ApplyResult,
  type FiredCheck,
  type StateStore,
  type StateUpdate,
} from './store.ts';

export interface PendingCheck {
  kind: FiredCheck['kind'];
  material: string;
  day: number;
  dueAt: number;
}

interface ProducerState {
  watermark: number;
  books: Map<string, MaterialBook>;
  /** `${kind}|${material}|${day}` → pending check */
  pending: Map<string, PendingCheck>;
  /** reportId → first result, in insertion order, which is watermark order (the clock never goes back). */
  seen: Map<string, ApplyResult>;
  licenceUsedKg: Map<string, number>;
}

const newProducer = (): ProducerState => ({
  watermark: 0,
  books: new Map(),
  pending: new Map(),
  seen: new Map(),
  licenceUsedKg: new Map(),
});

/**
 * How long a result is kept for redeliveries: the Redis store's 14 days, but on the producer's clock,
 * since a replay goes through months in minutes and wall-clock time would keep everything. The
 * trade-off: a report redelivered after its producer's clock has moved on by more than this is
 * applied again. Kafka redelivers from the last committed offset, close behind the first delivery,
 * so only a report resent by hand that late would count twice (as it would with Redis).
 */
export const SEEN_WINDOW_MS = SEEN_TTL_SECONDS * 1000;

/** Pending checks fire in due order; ties broken by kind, material and day so the order is stable. */
export function comparePending(a: PendingCheck, b: PendingCheck): number {
  if (a.dueAt !== b.dueAt) return a.dueAt - b.dueAt;
  return compareCheckTies(a, b);
}

/** The tie order of checks due at the same instant. */
export function compareCheckTies(a: Omit<PendingCheck, 'dueAt'>, b: Omit<PendingCheck, 'dueAt'>): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.material !== b.material) return a.material < b.material ? -1 : 1;
  return a.day - b.day;
}

export function createMemoryStore(): StateStore {
  const producers = new Map<string, ProducerState>();
  /** licenceId → effective time → version */
  const licences = new Map<string, Map<number, Licence>>();
  /** alertId → the highest revision published. */
  const published = new Map<string, number>();

  const producer = (id: string): ProducerState => {
    let p = producers.get(id);
    if (!p) {
      p = newProducer();
      producers.set(id, p);
    }
    return p;
  };

  const bookOf = (p: ProducerState, material: string): MaterialBook => {
    let b = p.books.get(material);
    if (!b) {
      b = emptyBook();
      p.books.set(material, b);
    }
    return b;
  };

  const schedule = (p: ProducerState, check: PendingCheck): void => {
    const key = `${check.kind}|${check.material}|${check.day}`;
    const existing = p.pending.get(key);
    if (!existing || check.dueAt < existing.dueAt) p.pending.set(key, check);
  };

  function applyOne(u: StateUpdate): ApplyResult {
    const p = producer(u.producerId);
    const seen = p.seen.get(u.reportId);
    if (seen) return { ...seen, duplicate: true };

    const day = dayOf(u.occurredAt);
    const dueAt = dayEnd(day) + u.graceMs;
    for (const flow of u.flows) {
      const book = bookOf(p, flow.material);
      addFlow(book, day, flow.kind, flow.kg);
      if (OUTFLOW_KINDS.includes(flow.kind)) {
        const ids = book.outflowIds.get(day) ?? [];
        if (ids.length < MAX_SUBJECT_IDS && !ids.includes(u.reportId)) ids.push(u.reportId);
        book.outflowIds.set(day, ids);
        schedule(p, { kind: 'deficit', material: flow.material, day, dueAt });
      }
    }
    if (u.declaration) {
      declareStock(bookOf(p, u.declaration.material), day, u.declaration.onHandKg, u.reportId);
      schedule(p, { kind: 'stock', material: u.declaration.material, day, dueAt });
    }

    let licenceUsedBeforeKg: number | undefined;
    let licenceUsedAfterKg: number | undefined;
    if (u.licenceUse) {
      licenceUsedBeforeKg = p.licenceUsedKg.get(u.licenceUse.licenceId) ?? 0;
      licenceUsedAfterKg = Math.round((licenceUsedBeforeKg + u.licenceUse.kg) * 1000) / 1000;
      p.licenceUsedKg.set(u.licenceUse.licenceId, licenceUsedAfterKg);
    }

    p.watermark = Math.max(p.watermark, u.occurredAt);
    const due = [...p.pending.entries()]
      .filter(([, c]) => c.dueAt <= p.watermark)
      .sort(([, a], [, b]) => comparePending(a, b));
    for (const [key] of due) p.pending.delete(key);
    const checks = fireChecks(
      due.map(([, c]) => c),
      (material) => bookOf(p, material),
    );

    // After the checks, so nothing this report fires reads a pruned day. Only the materials this
    // report touches, so a report's cost does not grow with the producer's catalogue.
    const cutoffDay = dayOf(p.watermark) - RETENTION_DAYS;
    for (const flow of u.flows) pruneBook(bookOf(p, flow.material), cutoffDay);
    if (u.declaration) pruneBook(bookOf(p, u.declaration.material), cutoffDay);

    const result: ApplyResult = {
      reportId: u.reportId,
      duplicate: false,
      watermark: p.watermark,
      licenceUsedBeforeKg,
      licenceUsedAfterKg,
      checks,
    };
    p.seen.set(u.reportId, result);
    const keepFrom = p.watermark - SEEN_WINDOW_MS;
    for (const [reportId, kept] of p.seen) {
      if (kept.watermark >= keepFrom) break;
      p.seen.delete(reportId);
    }
    return result;
  }

  return {
    ...createMemoryReference(),
    async applyBatch(updates) {
      return updates.map(applyOne);
    },
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
    async unpublishedAlerts(alerts) {
      return alerts.map(refOf).flatMap(({ alertId, revision }) => ((published.get(alertId) ?? 0) < revision ? [alertId] : []));
    },
    async markAlertsPublished(alerts) {
      for (const { alertId, revision } of alerts.map(refOf)) published.set(alertId, Math.max(published.get(alertId) ?? 0, revision));
    },
    async close() {},
  };
}
