/**
 * The simulator and custody-gap: clean domestic transfers are received whole and within grace;
 * injected custody anomalies are found by the rule (run through the rule harness in recording
 * order, with a watermark lateness covering the simulator's reporting delay), and nothing else is.
 */
import { describe, expect, it } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import type { ReceiptReport, Report, ReportKind, ShipmentReport } from '../../src/domain/events.ts';
import { validateReport } from '../../src/domain/validate.ts';
import { custodyGap, custodyGapParams } from '../../src/rules/custody-gap.ts';
import { custodyGapInjector } from '../../src/sim/anomalies/custody-gap.ts';
import { simulate } from '../../src/sim/simulate.ts';
import type { RecordingLine } from '../../src/sim/types.ts';
import { paramsFrom } from '../helpers/builders.ts';
import { ruleHarness } from '../helpers/rule-harness.ts';

const HOUR = 3_600_000;
const KIND_OF = new Map<string, string>(Object.entries(topicNames('ree')).map(([kind, topic]) => [topic, kind]));
const REPORT_KINDS = new Set(['production', 'shipments', 'receipts', 'inventory']);

const reportsOf = (records: readonly RecordingLine[]): Report[] =>
  records.flatMap((line) => {
    const kind = KIND_OF.get(line.topic);
    return kind && REPORT_KINDS.has(kind) ? [validateReport(kind as ReportKind, line.value)] : [];
  });

/** custody-gap's drafts for the recording, reports fed in recording (reportedAt) order. */
function custodyFindings(records: readonly RecordingLine[]) {
  // The simulator reports up to 46 h late; 48 h of lateness keeps every on-time receipt ahead of its deadline.
  const h = ruleHarness(custodyGap, paramsFrom(custodyGapParams), { allowedLatenessMs: 48 * HOUR });
  h.feed(reportsOf(records));
  return h.drafts;
}

describe('simulator: custody of domestic transfers', () => {
  it('receives every clean domestic shipment once, whole, by the named buyer, within 72 h, and raises nothing', () => {
    const run = simulate({ seed: 3, producers: 40, days: 20, anomalies: false });
    const reports = reportsOf(run.records);
    const shipments = reports.filter((r) => r.kind === 'shipments' && r.event.direction === 'DOMESTIC').map((r) => r.event as ShipmentReport);
    const receipts = new Map<string, ReceiptReport[]>();
    for (const r of reports) if (r.kind === 'receipts') receipts.set(r.event.shipmentId, [...(receipts.get(r.event.shipmentId) ?? []), r.event]);
    expect(shipments.length).toBeGreaterThan(100);
    const bad = shipments.filter((s) => {
      const got = receipts.get(s.shipmentId) ?? [];
      const r = got[0];
      return got.length !== 1 || !r || r.quantityKg !== s.quantityKg || r.material !== s.material || r.producerId !== s.clientId || r.supplierId !== s.producerId || r.occurredAt > s.occurredAt + 72 * HOUR;
    });
    expect(bad.map((s) => s.shipmentId)).toEqual([]);
    expect(receipts.size).toBe(shipments.length);
    expect(custodyFindings(run.records)).toEqual([]);
  });

  it('injects missing, short and other-material receipts that custody-gap finds, and nothing else', () => {
    const run = simulate({ seed: 11, producers: 40, days: 30, injectors: [custodyGapInjector], anomalyRate: 0.01 });
    expect(Object.keys(run.stats.labelsByVariant).sort()).toEqual(['custody-gap/missing-receipt', 'custody-gap/other-material-receipt', 'custody-gap/short-receipt']);
    expect(run.labels.length).toBeGreaterThanOrEqual(8);
    const drafts = custodyFindings(run.records);
    const hits = (subjects: readonly string[], label: { subjectEventIds: string[] }) => subjects.some((id) => label.subjectEventIds.includes(id));
    const missed = run.labels.filter((l) => !drafts.some((d) => d.producerId === l.producerId && hits(d.subjectEventIds, l)));
    expect(missed).toEqual([]);
    const unlabelled = drafts.filter((d) => !run.labels.some((l) => hits(d.subjectEventIds, l)));
    expect(unlabelled.map((d) => d.summary)).toEqual([]);
    // One finding per injected transfer, of the kind injected.
    expect(new Set(drafts.map((d) => d.findingKey)).size).toBe(run.labels.length);
    const kindOf = (anomalyId: string) => (anomalyId.endsWith('missing-receipt') ? 'missing-receipt' : 'receipt-mismatch');
    for (const l of run.labels) {
      const d = drafts.find((x) => hits(x.subjectEventIds, l))!;
      expect(d.evidence.check, l.anomalyId).toBe(kindOf(l.anomalyId));
    }
  });
});
