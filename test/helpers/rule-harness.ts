/**
 * Runs reports through one rule as the pipeline does, without I/O: each producer's state kept
 * between reports, the watermark moved by the reports' event times, timers fired in order once it
 * passes them, custody records kept in a memory ledger, quotas given per producer. For
 * table-driven tests of stateful rules; the pipeline tests prove the real wiring does the same.
 */
import type { ProductionQuota, Report } from '../../src/domain/events.ts';
import type { AlertDraft, ParamsFor, Rule, RuleInput } from '../../src/rules/rule.ts';
import { custodyEntryOf } from '../../src/pipeline/custody-entry.ts';
import type { CustodyRecord } from '../../src/state/custody-ledger.ts';
import { ProducerState } from '../../src/state/engine/producer-state.ts';
import { popDueTimers, ruleStateOf } from '../../src/state/rule-state.ts';
import { testCatalogue } from './builders.ts';

export interface HarnessOptions {
  /** The watermark is the largest occurredAt seen less this (default 0). */
  allowedLatenessMs?: number;
  quotas?: readonly ProductionQuota[];
  /** Extra input fields per report (licence, priceHistory, ...). */
  extra?: (report: Report) => Partial<RuleInput>;
}

export interface HarnessRun {
  /** Every draft in the order found, updates included. */
  drafts: AlertDraft[];
  /** The latest draft per findingKey: what a subscriber ends up holding. */
  latest: Map<string, AlertDraft>;
  /** Moves the watermark to `time` (never back) and fires what falls due. */
  advanceTo(time: number): AlertDraft[];
  feed(reports: readonly Report[]): AlertDraft[];
  states: Map<string, ProducerState>;
}

export function ruleHarness<P>(rule: Rule<P>, params: ParamsFor<P>, options: HarnessOptions = {}): HarnessRun {
  const lateness = options.allowedLatenessMs ?? 0;
  const states = new Map<string, ProducerState>();
  const custody = new Map<string, CustodyRecord>();
  const seen = new Set<string>();
  let watermark = -Infinity;
  const drafts: AlertDraft[] = [];
  const latest = new Map<string, AlertDraft>();
  const stateOf = (producerId: string) => {
    let s = states.get(producerId);
    if (!s) states.set(producerId, (s = new ProducerState(producerId)));
    return s;
  };
  const found = (list: AlertDraft[]) => {
    for (const d of list) {
      drafts.push(d);
      const held = latest.get(d.findingKey);
      if (!held || (d.revision ?? 1) > (held.revision ?? 1)) latest.set(d.findingKey, d);
    }
    return list;
  };

  function advanceTo(time: number): AlertDraft[] {
    if (!(time > watermark)) return [];
    watermark = time;
    if (!rule.onTimer) return [];
    // Producers in id order, each one's timers in (dueAt, ruleId, key) order: as the pipeline does.
    const due = [...states.keys()].sort().flatMap((id) => popDueTimers(states.get(id)!, watermark).map((t) => ({ id, t })));
    due.sort((a, b) => a.t.dueAt - b.t.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const out: AlertDraft[] = [];
    for (const { id, t } of due) {
      const shipmentId = t.payload.payload['shipmentId'];
      out.push(
        ...rule.onTimer(
          {
            producerId: id,
            key: t.payload.key,
            dueAt: t.dueAt,
            payload: t.payload.payload,
            state: ruleStateOf(states.get(id)!, rule.id),
            watermark,
            catalogue: testCatalogue(),
            custody: typeof shipmentId === 'string' ? custody.get(shipmentId) : undefined,
          },
          params,
        ),
      );
    }
    return found(out);
  }

  function feed(reports: readonly Report[]): AlertDraft[] {
    const out: AlertDraft[] = [];
    for (const report of reports) {
      if (seen.has(report.event.reportId)) continue;
      seen.add(report.event.reportId);
      const entry = custodyEntryOf(report);
      let record: CustodyRecord | undefined;
      if (entry) {
        const held = custody.get(entry.shipmentId) ?? {};
        if (held[entry.side] === undefined) held[entry.side] = entry.value;
        custody.set(entry.shipmentId, held);
        record = { ...held };
      }
      const quotas = report.kind === 'production' ? (options.quotas ?? []).filter((q) => q.producerId === report.event.producerId) : undefined;
      const input: RuleInput = {
        report,
        result: { reportId: report.event.reportId, duplicate: false, watermark: report.event.occurredAt, checks: [] },
        licence: null,
        catalogue: testCatalogue(),
        state: ruleStateOf(stateOf(report.event.producerId), rule.id),
        watermark,
        custody: record,
        quotas,
        ...options.extra?.(report),
      };
      out.push(...found(rule.evaluate(input, params)));
      out.push(...advanceTo(report.event.occurredAt - lateness));
    }
    return out;
  }

  return { drafts, latest, advanceTo, feed, states };
}
