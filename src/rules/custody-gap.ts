/**
 * custody-gap: a DOMESTIC shipment whose receipt (same shipmentId, on the buyer's partition) does
 * not come within grace, or comes for a quantity beyond tolerance, another material, or by or from
 * another party than the shipment names: goods that left one plant's books and entered no other's
 * as shipped (over/under-shipment, phantom shipments; RULE-EVIDENCE.md).
 *
 * The two sides meet in the custody ledger; the pipeline records the report's side first, so
 * `input.custody` holds both when both are known, whichever came second. Judged by event times
 * only: a receipt counts iff its occurredAt is within grace of the shipment's, whenever it arrives.
 * - shipment (seller's state): a timer at occurredAt + grace; if a receipt within grace is already
 *   there, the transfer is judged at once.
 * - receipt (buyer's state): if the shipment is there and the receipt is within grace, judged.
 * - timer (seller's state, record at firing): no receipt within grace is a missing-receipt finding.
 * Every finding belongs to the seller, one findingKey per shipmentId, and is built from the record
 * alone (never from which side came second), so both paths give the same alert, field for field.
 */
import { z } from 'zod';
import { HOUR_MS, iso } from '../domain/time.ts';
import type { CustodyRecord, CustodySide } from '../state/custody-ledger.ts';
import { kg, pct, tonnes } from './format.ts';
import { defineRule, type AlertDraft } from './rule.ts';
import { clampScore } from './severity.ts';

export const custodyGapParams = z.object({
  /**
   * Hours of event time after the shipment within which its receipt must occur. No public figure
   * (RULE-EVIDENCE.md); 72 h covers domestic road and rail delivery (one to three days) and matches
   * the detector's other grace period, volume-mismatch's.
   */
  graceHours: z.number().positive().max(24 * 92).default(72),
  /**
   * Weighing difference allowed between the two plants, in percent of the shipped quantity: two
   * weighings on scales of ±0.1-0.2 % each, plus tare, stay well inside 0.5 %. Refined oxides,
   * metals and magnets travel in sealed drums and crates, so more than that is goods gone missing.
   */
  tolerancePct: z.number().min(0).max(100).default(0.5),
  /**
   * Per-material replacements of tolerancePct. Wet bulk concentrate loses or gains moisture in
   * transit (it is weighed wet at both ends; moisture runs to several percent), so it gets 2 %.
   */
  tolerancePctByMaterial: z.record(z.string(), z.number().min(0).max(100)).default({ REE_CONCENTRATE: 2 }),
  /** Absolute difference always allowed: scale resolution on small lots (a few kg of terbium). */
  toleranceKg: z.number().min(0).default(0.5),
  /** Score of a receipt that never came within grace: HIGH (a phantom or diverted shipment). */
  missingScore: z.number().min(0).max(1).default(0.7),
  /** Score of a receipt of another material, or by or from another party: HIGH. */
  otherGoodsScore: z.number().min(0).max(1).default(0.8),
});
export type CustodyGapParams = z.output<typeof custodyGapParams>;

/** The timer key of a shipment's receipt deadline (one per shipmentId in the seller's state). */
export const timerKeyOf = (shipmentId: string): string => `receipt:${shipmentId}`;

export const graceMsOf = (p: CustodyGapParams): number => p.graceHours * HOUR_MS;

export const toleranceKgOf = (shippedKg: number, material: string, p: CustodyGapParams): number =>
  Math.max(p.toleranceKg, (shippedKg * (p.tolerancePctByMaterial[material] ?? p.tolerancePct)) / 100);

/** Within grace: the receipt occurred no later than the deadline (before the shipment counts too). */
export const withinGrace = (receipt: CustodySide, dueAt: number): boolean => receipt.occurredAt <= dueAt;

export type Discrepancy = 'quantity' | 'material' | 'party';

/** What disagrees between the shipment and its receipt (empty: the transfer is whole). */
export function discrepancies(shipment: CustodySide, receipt: CustodySide, p: CustodyGapParams): Discrepancy[] {
  const found: Discrepancy[] = [];
  if (Math.abs(receipt.quantityKg - shipment.quantityKg) > toleranceKgOf(shipment.quantityKg, shipment.material, p)) found.push('quantity');
  if (receipt.material !== shipment.material) found.push('material');
  // The receipt must be the named buyer's and name the seller as its supplier.
  if (receipt.producerId !== shipment.counterpartyId || receipt.counterpartyId !== shipment.producerId) found.push('party');
  return found;
}

/** A time a person reads in a summary: minutes, UTC. */
const when = (t: number): string => `${iso(t).slice(0, 16).replace('T', ' ')} UTC`;

const findingKeyOf = (shipmentId: string, shipment: CustodySide): string => `${shipment.producerId}|${shipmentId}`;

function shipmentEvidence(shipmentId: string, s: CustodySide, dueAt: number, p: CustodyGapParams): Record<string, string> {
  return {
    shipmentId,
    sellerId: s.producerId,
    buyerId: s.counterpartyId,
    shippedMaterial: s.material,
    shippedKg: kg(s.quantityKg),
    shippedAt: iso(s.occurredAt),
    receiptDueBy: iso(dueAt),
    graceHours: String(p.graceHours),
  };
}

/** No receipt occurred within grace (a later one, if any, is left out: it may not be known yet). */
export function missingReceiptDraft(shipmentId: string, s: CustodySide, dueAt: number, p: CustodyGapParams): AlertDraft {
  return {
    findingKey: findingKeyOf(shipmentId, s),
    score: clampScore(p.missingScore),
    producerId: s.producerId,
    clientId: s.counterpartyId,
    licenceId: null,
    subjectEventIds: [s.reportId],
    summary: `${s.producerId} shipped ${tonnes(s.quantityKg)} of ${s.material} to ${s.counterpartyId} on ${when(s.occurredAt)} (shipment ${shipmentId}) and no receipt of it occurred within ${p.graceHours} h.`,
    evidence: { check: 'missing-receipt', ...shipmentEvidence(shipmentId, s, dueAt, p), receipt: 'none within grace' },
    eventTime: dueAt,
    windowStart: s.occurredAt,
    windowEnd: dueAt,
  };
}

function mismatchSummary(shipmentId: string, s: CustodySide, r: CustodySide, found: readonly Discrepancy[]): string {
  const parts: string[] = [];
  if (found.includes('quantity')) parts.push(`${pct(Math.abs(r.quantityKg - s.quantityKg) / s.quantityKg)} ${r.quantityKg < s.quantityKg ? 'less' : 'more'}`);
  if (found.includes('material')) parts.push('another material');
  if (found.includes('party')) parts.push(`a receipt by ${r.producerId} from ${r.counterpartyId}`);
  return `${s.producerId} shipped ${tonnes(s.quantityKg)} of ${s.material} to ${s.counterpartyId} (shipment ${shipmentId}) but ${r.producerId} received ${tonnes(r.quantityKg)} of ${r.material}: ${parts.join(', ')}.`;
}

/** A receipt within grace that disagrees with its shipment; the same from either side. */
export function mismatchDraft(shipmentId: string, s: CustodySide, r: CustodySide, p: CustodyGapParams): AlertDraft | null {
  const found = discrepancies(s, r, p);
  if (found.length === 0) return null;
  const dueAt = s.occurredAt + graceMsOf(p);
  const gap = Math.abs(r.quantityKg - s.quantityKg) / s.quantityKg;
  // 0.4 at the tolerance's edge, 0.9 by a tenth missing or extra.
  const quantityScore = found.includes('quantity') ? 0.4 + Math.min(0.5, gap * 5) : 0;
  const otherGoods = found.some((d) => d !== 'quantity') ? p.otherGoodsScore : 0;
  return {
    findingKey: findingKeyOf(shipmentId, s),
    score: clampScore(Math.max(quantityScore, otherGoods)),
    producerId: s.producerId,
    clientId: s.counterpartyId,
    licenceId: null,
    subjectEventIds: [s.reportId, r.reportId],
    summary: mismatchSummary(shipmentId, s, r, found),
    evidence: {
      check: 'receipt-mismatch',
      discrepancies: found.join(','),
      ...shipmentEvidence(shipmentId, s, dueAt, p),
      receiptReportId: r.reportId,
      receivedBy: r.producerId,
      supplierOnReceipt: r.counterpartyId,
      receivedMaterial: r.material,
      receivedKg: kg(r.quantityKg),
      receivedAt: iso(r.occurredAt),
      differenceKg: kg(r.quantityKg - s.quantityKg),
      differencePct: pct((r.quantityKg - s.quantityKg) / s.quantityKg),
      toleranceKg: kg(toleranceKgOf(s.quantityKg, s.material, p)),
    },
    eventTime: Math.max(s.occurredAt, r.occurredAt),
    windowStart: Math.min(s.occurredAt, r.occurredAt),
    windowEnd: Math.max(s.occurredAt, r.occurredAt),
  };
}

/** Judges a record holding both sides, if its receipt is within grace (a later one is the timer's). */
function judgeIfComplete(shipmentId: string, record: CustodyRecord | undefined, p: (material: string) => CustodyGapParams): AlertDraft[] {
  const { shipment, receipt } = record ?? {};
  if (!shipment || !receipt) return [];
  const params = p(shipment.material);
  if (!withinGrace(receipt, shipment.occurredAt + graceMsOf(params))) return [];
  const draft = mismatchDraft(shipmentId, shipment, receipt, params);
  return draft ? [draft] : [];
}

export const custodyGap = defineRule({
  id: 'custody-gap',
  version: 1,
  description: 'Domestic shipment with no receipt within grace, or a receipt of another quantity, material or party.',
  params: custodyGapParams,
  kinds: ['shipments', 'receipts'],
  evaluate({ report, custody, state }, params) {
    if (report.kind === 'shipments' && report.event.direction === 'DOMESTIC') {
      const s = report.event;
      // Always set, even when the receipt is already here: the timer firing is when the pipeline
      // may forget the shipment's record, and it judges nothing once a receipt is within grace.
      state.setTimer(timerKeyOf(s.shipmentId), s.occurredAt + graceMsOf(params(s.material)), { shipmentId: s.shipmentId });
      return judgeIfComplete(s.shipmentId, custody, (m) => params(m));
    }
    if (report.kind === 'receipts') return judgeIfComplete(report.event.shipmentId, custody, (m) => params(m));
    return [];
  },
  onTimer({ payload, dueAt, custody }, params) {
    const shipmentId = payload['shipmentId'];
    // Without the shipment's side (a record lost to the safety TTL) there is nothing to judge.
    if (typeof shipmentId !== 'string' || !custody?.shipment) return [];
    const { shipment, receipt } = custody;
    if (receipt && withinGrace(receipt, dueAt)) return [];
    return [missingReceiptDraft(shipmentId, shipment, dueAt, params(shipment.material))];
  },
});
