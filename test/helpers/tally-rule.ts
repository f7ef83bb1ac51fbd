/**
 * A tiny stateful rule for pipeline tests, so they need none of the real stateful rules:
 * - each production report joins its producer's tally (a cell of the rule's own); from the second
 *   on, one growing finding per producer is published with revision = the tally and every tallied
 *   report as its subject; any other report re-states the finding at its current revision (which
 *   must then not be published again);
 * - every report sets the producer's `silence` timer at occurredAt + SILENCE_MS; when the watermark
 *   passes it, a "silent" finding names the last report;
 * - a DOMESTIC shipment sets a `custody:<shipmentId>` timer at occurredAt + SILENCE_MS; firing, it
 *   reports whether the custody ledger holds a receipt for it;
 * - evidence carries how many quotas and whether a custody record came with the report.
 * It counts its calls, so a test can prove a redelivered report was not evaluated again.
 */
import { z } from 'zod';
import type { AlertDraft, Rule, RuleId } from '../../src/rules/rule.ts';
import { WholeCell } from '../../src/state/engine/cell.ts';
import { HOUR_MS } from '../../src/domain/time.ts';

export const SILENCE_MS = 10 * HOUR_MS;
export const TALLY_RULE_ID = 'tally-test' as RuleId;

/** The reportIds tallied so far, in arrival order. */
class Tally extends WholeCell<string[]> {
  ids: string[] = [];
  add(id: string): void {
    this.ids.push(id);
    this.changed();
  }
  protected toData(): string[] | null {
    return this.ids.length === 0 ? null : this.ids;
  }
  protected fromData(data: string[]): void {
    this.ids = data;
  }
}

export interface TallyRule {
  rule: Rule<Record<string, never>>;
  calls: { evaluate: number; onTimer: number };
}

export function createTallyRule(): TallyRule {
  const calls = { evaluate: 0, onTimer: 0 };
  const finding = (producerId: string, ids: string[], eventTime: number, evidence: Record<string, string>): AlertDraft => ({
    findingKey: `tally:${producerId}`,
    producerId,
    subjectEventIds: [...ids],
    summary: `Producer ${producerId} has ${ids.length} production reports.`,
    evidence: { tally: String(ids.length), ...evidence },
    eventTime,
    score: 0.5,
    revision: ids.length,
  });
  const rule: Rule<Record<string, never>> = {
    id: TALLY_RULE_ID,
    version: 1,
    description: 'test rule: tallies production reports, times silences',
    params: z.object({}).strict() as unknown as z.ZodType<Record<string, never>>,
    evaluate(input) {
      calls.evaluate += 1;
      const { report, state } = input;
      const e = report.event;
      const tally = state.cell('tally', () => new Tally());
      state.setTimer('silence', e.occurredAt + SILENCE_MS, { reportId: e.reportId });
      if (report.kind === 'shipments' && report.event.direction === 'DOMESTIC') {
        state.setTimer(`custody:${report.event.shipmentId}`, e.occurredAt + SILENCE_MS, { shipmentId: report.event.shipmentId });
      }
      const evidence = {
        quotas: String(input.quotas?.length ?? 'none'),
        custody: input.custody ? [input.custody.shipment ? 'shipment' : '', input.custody.receipt ? 'receipt' : ''].filter(Boolean).join('+') : 'none',
        watermark: String(input.watermark),
      };
      if (report.kind === 'production') tally.add(e.reportId);
      return tally.ids.length >= 2 ? [finding(e.producerId, tally.ids, e.occurredAt, evidence)] : [];
    },
    onTimer(timer) {
      calls.onTimer += 1;
      if (timer.key.startsWith('custody:')) {
        return [
          {
            findingKey: `custody:${timer.payload['shipmentId']}`,
            producerId: timer.producerId,
            subjectEventIds: [timer.custody?.shipment?.reportId ?? 'unknown'],
            summary: `Shipment ${timer.payload['shipmentId']} was checked for its receipt.`,
            evidence: { receipt: timer.custody?.receipt ? timer.custody.receipt.reportId : 'none' },
            eventTime: timer.dueAt,
            score: 0.5,
          },
        ];
      }
      return [
        {
          findingKey: `silent:${timer.producerId}:${timer.dueAt}`,
          producerId: timer.producerId,
          subjectEventIds: [String(timer.payload['reportId'])],
          summary: `Producer ${timer.producerId} went silent.`,
          evidence: { dueAt: String(timer.dueAt), watermark: String(timer.watermark) },
          eventTime: timer.dueAt,
          score: 0.5,
        },
      ];
    },
  };
  return { rule, calls };
}
