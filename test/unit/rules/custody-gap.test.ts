import { describe, expect, it } from 'vitest';
import type { ReceiptReport, Report, ShipmentReport } from '../../../src/domain/events.ts';
import { HOUR_MS } from '../../../src/domain/time.ts';
import { custodyGap, custodyGapParams, timerKeyOf } from '../../../src/rules/custody-gap.ts';
import type { AlertDraft } from '../../../src/rules/rule.ts';
import { ruleStateOf, timersOf } from '../../../src/state/rule-state.ts';
import { D0, at, nextId, paramsFrom, reports } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';
import { ruleHarness, type HarnessOptions } from '../../helpers/rule-harness.ts';

const DEFAULTS = custodyGapParams.parse({});
const T = at(D0, 9);
const H = HOUR_MS;

/** P1's domestic shipment to P2 and P2's receipt of it, both as shipped unless told otherwise. */
function transfer(ship: Partial<ShipmentReport> = {}, receive: Partial<ReceiptReport> = {}): { shipment: Report; receipt: Report } {
  const shipmentId = ship.shipmentId ?? nextId('SH');
  const s: Partial<ShipmentReport> = { producerId: 'P1', clientId: 'P2', clientName: 'Plant Two', clientCountry: 'CN', destinationCountry: 'CN', direction: 'DOMESTIC', licenceId: null, material: 'NDPR_OXIDE', quantityKg: 1000, hsCode: '2846901100', occurredAt: T, shipmentId, ...ship };
  const shipment = reports.shipments(s);
  const receipt = reports.receipts({ producerId: s.clientId, supplierId: s.producerId, shipmentId, material: s.material, quantityKg: s.quantityKg, occurredAt: T + 30 * H, ...receive });
  return { shipment, receipt };
}

const run = (options: HarnessOptions = {}, params: Record<string, unknown> = {}) => ruleHarness(custodyGap, paramsFrom(custodyGapParams, params), options);

/** Feeds the reports in this order, then moves the watermark far past every deadline. */
function findings(order: readonly Report[], params: Record<string, unknown> = {}): AlertDraft[] {
  const h = run({}, params);
  h.feed(order);
  h.advanceTo(T + 30 * 24 * H);
  return h.drafts;
}

describe('custody-gap parameters', () => {
  it('defaults to 72 h of grace, a 0.5 % weighing tolerance (2 % for wet concentrate) and 0.5 kg', () => {
    expect(DEFAULTS).toEqual({ graceHours: 72, tolerancePct: 0.5, tolerancePctByMaterial: { REE_CONCENTRATE: 2 }, toleranceKg: 0.5, missingScore: 0.7, otherGoodsScore: 0.8 });
  });

  it.each([
    ['no grace', { graceHours: 0 }, 'graceHours'],
    ['a negative tolerance', { tolerancePct: -1 }, 'tolerancePct'],
    ['a score above 1', { missingScore: 1.5 }, 'missingScore'],
  ])('rejects %s', (_, raw, field) => {
    const result = custodyGapParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('custody-gap: when the receipt occurs', () => {
  it.each<[string, number | null, 'none' | 'missing']>([
    ['a receipt the same day', 6, 'none'],
    ['a receipt late but within grace (71 h)', 71, 'none'],
    ['a receipt exactly at the deadline', 72, 'none'],
    ['a receipt an hour after grace', 73, 'missing'],
    ['a receipt a week later', 7 * 24, 'missing'],
    ['no receipt at all', null, 'missing'],
    ['a receipt dated before the shipment (clock skew)', -2, 'none'],
  ])('%s', (_, receivedAfterHours, expected) => {
    const { shipment, receipt } = transfer({}, { occurredAt: T + (receivedAfterHours ?? 0) * H });
    const drafts = findings(receivedAfterHours === null ? [shipment] : [shipment, receipt]);
    expect(drafts.map((d) => d.evidence.check)).toEqual(expected === 'none' ? [] : ['missing-receipt']);
  });

  it('waits for the watermark to reach the deadline, then raises the missing receipt once, owned by the seller', () => {
    const { shipment } = transfer();
    const h = run();
    expect(h.feed([shipment])).toEqual([]);
    expect(h.states.get('P1')!.producerId).toBe('P1');
    expect(h.advanceTo(T + 72 * H - 1)).toEqual([]);
    const [draft, ...rest] = h.advanceTo(T + 72 * H);
    expect(rest).toEqual([]);
    expect(draft).toMatchObject({
      producerId: 'P1',
      clientId: 'P2',
      licenceId: null,
      subjectEventIds: [shipment.event.reportId],
      eventTime: T + 72 * H,
      windowStart: T,
      windowEnd: T + 72 * H,
      score: 0.7,
    });
    expect(draft!.evidence).toMatchObject({ check: 'missing-receipt', shipmentId: (shipment.event as ShipmentReport).shipmentId, buyerId: 'P2', shippedKg: '1000', graceHours: '72', receipt: 'none within grace' });
    expect(draft!.summary).toBe(`P1 shipped 1 t of NDPR_OXIDE to P2 on 2025-01-12 09:00 UTC (shipment ${(shipment.event as ShipmentReport).shipmentId}) and no receipt of it occurred within 72 h.`);
    expectOneSentence(draft!.summary);
    expect(h.advanceTo(T + 1000 * H)).toEqual([]);
  });

  it('gives the same missing-receipt alert whether the late receipt came before or after the deadline passed', () => {
    const { shipment, receipt } = transfer({}, { occurredAt: T + 80 * H });
    const seenFirst = run();
    seenFirst.feed([shipment, receipt]); // the receipt's own time moves the watermark past the deadline
    const seenAfter = run();
    seenAfter.feed([shipment]);
    seenAfter.advanceTo(T + 200 * H);
    seenAfter.feed([receipt]);
    expect(seenFirst.drafts).toHaveLength(1);
    expect(seenFirst.drafts).toEqual(seenAfter.drafts);
    // The late receipt is left out: whether it is known when the deadline passes depends on timing.
    expect(seenFirst.drafts[0]!.subjectEventIds).toEqual([shipment.event.reportId]);
  });

  it('is the grace of the parameters, in event time', () => {
    const { shipment, receipt } = transfer({}, { occurredAt: T + 100 * H });
    expect(findings([shipment, receipt], { graceHours: 120 })).toEqual([]);
    expect(findings([shipment, receipt], { graceHours: 96 })).toHaveLength(1);
  });
});

describe('custody-gap: what the receipt says', () => {
  it.each<[string, Partial<ShipmentReport>, Partial<ReceiptReport>, string | null]>([
    ['equal quantity', {}, {}, null],
    ['0.4 % short: weighing', {}, { quantityKg: 996 }, null],
    ['1 % short', {}, { quantityKg: 990 }, 'quantity'],
    ['1 % over', {}, { quantityKg: 1010 }, 'quantity'],
    ['concentrate 1.5 % light: moisture', { material: 'REE_CONCENTRATE', quantityKg: 20_000 }, { quantityKg: 19_700 }, null],
    ['concentrate 2.5 % light', { material: 'REE_CONCENTRATE', quantityKg: 20_000 }, { quantityKg: 19_500 }, 'quantity'],
    ['2 kg of terbium received as 1.6 kg: within 0.5 kg', { material: 'TB_OXIDE', quantityKg: 2 }, { quantityKg: 1.6 }, null],
    ['2 kg of terbium received as 1.4 kg', { material: 'TB_OXIDE', quantityKg: 2 }, { quantityKg: 1.4 }, 'quantity'],
    ['another material', { material: 'DY_OXIDE', quantityKg: 100 }, { material: 'NDPR_OXIDE' }, 'material'],
    ['received by another plant', {}, { producerId: 'P3' }, 'party'],
    ['naming another supplier', {}, { supplierId: 'P9' }, 'party'],
    ['short and another material', {}, { quantityKg: 500, material: 'DY_OXIDE' }, 'quantity,material'],
  ])('%s', (_, ship, receive, expected) => {
    const { shipment, receipt } = transfer(ship, receive);
    const drafts = findings([shipment, receipt]);
    expect(drafts.map((d) => d.evidence.discrepancies)).toEqual(expected === null ? [] : [expected]);
  });

  it('describes a short receipt with both sides as its subject', () => {
    const { shipment, receipt } = transfer({}, { quantityKg: 880, occurredAt: T + 26 * H });
    const [draft, ...rest] = findings([shipment, receipt]);
    expect(rest).toEqual([]);
    const shipmentId = (shipment.event as ShipmentReport).shipmentId;
    expect(draft).toMatchObject({ producerId: 'P1', clientId: 'P2', subjectEventIds: [shipment.event.reportId, receipt.event.reportId], eventTime: T + 26 * H, windowStart: T, windowEnd: T + 26 * H });
    expect(draft!.score).toBeCloseTo(0.9);
    expect(draft!.evidence).toMatchObject({ check: 'receipt-mismatch', discrepancies: 'quantity', shippedKg: '1000', receivedKg: '880', differenceKg: '-120', differencePct: '-12%', toleranceKg: '5', receivedBy: 'P2', supplierOnReceipt: 'P1' });
    expect(draft!.summary).toBe(`P1 shipped 1 t of NDPR_OXIDE to P2 (shipment ${shipmentId}) but P2 received 880 kg of NDPR_OXIDE: 12% less.`);
    expectOneSentence(draft!.summary);
  });

  it('scores a difference just over tolerance lower than a tenth missing, and other goods HIGH', () => {
    const score = (receive: Partial<ReceiptReport>) => {
      const { shipment, receipt } = transfer({}, receive);
      return findings([shipment, receipt])[0]!.score;
    };
    expect(score({ quantityKg: 990 })).toBeCloseTo(0.45);
    expect(score({ quantityKg: 900 })).toBeCloseTo(0.9);
    expect(score({ material: 'DY_OXIDE' })).toBeCloseTo(0.8);
  });

  it('judges a receipt after grace as missing only, not also as a mismatch', () => {
    const { shipment, receipt } = transfer({}, { quantityKg: 500, occurredAt: T + 90 * H });
    expect(findings([shipment, receipt]).map((d) => d.evidence.check)).toEqual(['missing-receipt']);
    expect(findings([receipt, shipment]).map((d) => d.evidence.check)).toEqual(['missing-receipt']);
  });
});

describe('custody-gap: order, redelivery and determinism', () => {
  it('gives the same alert, field for field, whether the receipt or the shipment came first', () => {
    const { shipment, receipt } = transfer({}, { quantityKg: 950 });
    const shippedFirst = findings([shipment, receipt]);
    const receivedFirst = findings([receipt, shipment]);
    expect(shippedFirst).toHaveLength(1);
    expect(receivedFirst).toEqual(shippedFirst);
  });

  it('raises nothing for a whole transfer received first, and lets the timer pass quietly', () => {
    const { shipment, receipt } = transfer({}, { occurredAt: T + 50 * H });
    const h = run();
    h.feed([receipt, shipment]);
    expect(h.advanceTo(T + 400 * H)).toEqual([]);
    expect(h.drafts).toEqual([]);
  });

  it('sets one timer per domestic shipment, at its deadline in the seller’s state; none for exports or receipts', () => {
    const { shipment, receipt } = transfer();
    const h = run();
    h.feed([shipment, receipt, reports.shipments({ producerId: 'P1', occurredAt: T })]);
    const shipmentId = (shipment.event as ShipmentReport).shipmentId;
    expect(timersOf(h.states.get('P1')!).size).toBe(1);
    expect(ruleStateOf(h.states.get('P1')!, custodyGap.id).timerDueAt(timerKeyOf(shipmentId))).toBe(T + 72 * H);
    expect(h.states.has('P2') ? timersOf(h.states.get('P2')!).size : 0).toBe(0);
  });

  it('counts a redelivered receipt and a second receipt of the same shipment once: the first one is kept', () => {
    const { shipment, receipt } = transfer({}, { quantityKg: 700 });
    const correction = reports.receipts({ ...(receipt.event as ReceiptReport), reportId: nextId('rcpt'), quantityKg: 1000 });
    const h = run();
    h.feed([shipment, receipt, receipt, correction]);
    h.advanceTo(T + 400 * H);
    expect(new Set(h.drafts.map((d) => d.findingKey)).size).toBe(1);
    expect([...h.latest.values()].map((d) => d.evidence.receivedKg)).toEqual(['700']);
    // A second receipt report of the same shipment judges the same record again: the same draft.
    expect(h.drafts.every((d) => JSON.stringify(d) === JSON.stringify(h.drafts[0]))).toBe(true);
  });

  it('gives the in-order alerts when reports arrive out of order within the allowed lateness', () => {
    // Forty transfers over ten days: whole, short, wrong material, late beyond grace and missing.
    const all: Report[] = [];
    const kinds = ['whole', 'short', 'material', 'late', 'missing'] as const;
    for (let i = 0; i < 40; i++) {
      const kind = kinds[i % kinds.length]!;
      const start = T + i * 6 * H;
      const { shipment, receipt } = transfer(
        { occurredAt: start, shipmentId: `SH-ord-${i}` },
        { occurredAt: start + (kind === 'late' ? 80 : 20 + (i % 3) * 20) * H, quantityKg: kind === 'short' ? 900 : 1000, material: kind === 'material' ? 'DY_OXIDE' : 'NDPR_OXIDE' },
      );
      all.push(shipment);
      if (kind !== 'missing') all.push(receipt);
    }
    const byTime = [...all].sort((a, b) => a.event.occurredAt - b.event.occurredAt);
    // Each report delayed by up to 46 h (the simulator's reporting delay), arriving in reportedAt order.
    let seed = 7;
    const rand = () => ((seed = (seed * 48271) % 2147483647) / 2147483647);
    const delayed = byTime.map((r) => ({ r, arrives: r.event.occurredAt + rand() * 46 * H })).sort((a, b) => a.arrives - b.arrives).map((x) => x.r);
    const inOrder = run({ allowedLatenessMs: 48 * H });
    inOrder.feed(byTime);
    inOrder.advanceTo(T + 1000 * H);
    const shuffled = run({ allowedLatenessMs: 48 * H });
    shuffled.feed(delayed);
    shuffled.advanceTo(T + 1000 * H);
    const sorted = (m: Map<string, AlertDraft>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
    expect(sorted(shuffled.latest)).toEqual(sorted(inOrder.latest));
    expect([...inOrder.latest.values()].map((d) => d.evidence.check).sort()).toEqual([...Array(8).fill('missing-receipt'), ...Array(8).fill('missing-receipt'), ...Array(16).fill('receipt-mismatch')].sort());
  });
});
