/**
 * volume-mismatch: mass balance. A producer cannot ship or consume more than it produced, received
 * and held; a declared stock must agree with the book, and a first one can't imply a negative
 * opening stock. Both checks run only once a day's grace
 * period has passed on the producer's clock, so late-arriving reports get their chance first.
 */
import { z } from 'zod';
import { HOUR_MS, dayEnd, dayStart, isoDay } from '../domain/time.ts';
import { roundKg } from '../state/balance.ts';
import type { FiredCheck } from '../state/store.ts';
import { kg, pct, tonnes } from './format.ts';
import { defineRule, type AlertDraft, type RuleInput } from './rule.ts';
import { clampScore } from './severity.ts';

export const volumeMismatchParams = z.object({
  /** Hours after a day ends before its balance is judged (event time). */
  graceHours: z.number().min(0).max(24 * 92).default(72),
  /** Physical-vs-book gap allowed, in percent of the material available in the period. */
  tolerancePct: z.number().min(0).max(100).default(0.5),
  /** Absolute gap always allowed, so tiny producers are not flagged for rounding. */
  toleranceKg: z.number().min(0).default(5),
});
export type VolumeMismatchParams = z.output<typeof volumeMismatchParams>;

export const graceMsOf = (p: VolumeMismatchParams): number => p.graceHours * HOUR_MS;

function available(check: FiredCheck): number {
  return (check.opening?.kg ?? 0) + check.totals.produced + check.totals.received;
}

function periodEvidence(check: FiredCheck, p: VolumeMismatchParams): Record<string, string> {
  return {
    material: check.material,
    day: isoDay(check.day),
    openingStockKg: kg(check.opening?.kg ?? 0),
    openingDeclaredOn: check.opening ? isoDay(check.opening.day) : 'none',
    producedKg: kg(check.totals.produced),
    receivedKg: kg(check.totals.received),
    consumedKg: kg(check.totals.consumed),
    shippedKg: kg(check.totals.shipped),
    bookBalanceKg: kg(check.bookKg),
    tolerancePct: String(p.tolerancePct),
    toleranceKgFloor: kg(p.toleranceKg),
    graceHours: String(p.graceHours),
  };
}

/**
 * The gap allowed, to the gram like the book itself: 0.7 % of 10 t is 69.99999999999999 in floating
 * point, and a book exactly 70 kg short must not fall outside a 70 kg tolerance.
 */
const toleranceOf = (p: VolumeMismatchParams, baseKg: number): number => roundKg(Math.max(p.toleranceKg, (p.tolerancePct / 100) * baseKg));

function deficitDraft(producerId: string, check: FiredCheck, p: VolumeMismatchParams): AlertDraft | null {
  const tolerance = toleranceOf(p, available(check));
  const deficit = -check.bookKg;
  if (deficit <= tolerance) return null;
  const outflow = check.totals.shipped + check.totals.consumed;
  return {
    // One finding per producer, material and reconciliation period: a deficit that persists
    // day after day is the same lead, not a new one each day.
    findingKey: `deficit|${producerId}|${check.material}|${check.opening?.day ?? 'start'}`,
    material: check.material,
    score: clampScore(deficit / Math.max(outflow, 1)),
    producerId,
    subjectEventIds: check.subjectIds,
    summary: `${producerId} shipped or consumed ${tonnes(deficit)} more ${check.material} than it had available by ${isoDay(check.day)} (book balance ${tonnes(check.bookKg)}).`,
    evidence: { check: 'deficit', ...periodEvidence(check, p), deficitKg: kg(deficit), toleranceKg: kg(tolerance) },
    eventTime: dayEnd(check.day),
    windowStart: check.opening ? dayStart(check.opening.day + 1) : null,
    windowEnd: dayEnd(check.day),
  };
}

/**
 * A first declaration has no earlier stock to check against, but it implies the stock the producer
 * held when tracking began: declared - (produced + received - consumed - shipped since then). That
 * opening can't be negative, so a declaration below what the producer's own reports add up to
 * (beyond tolerance) means goods left without a report. Above is an opening stock, not a finding.
 */
function firstDeclarationDraft(producerId: string, check: FiredCheck, declared: number, p: VolumeMismatchParams): AlertDraft | null {
  const impliedOpening = roundKg(declared - check.bookKg);
  const base = Math.max(Math.abs(check.bookKg), declared, available(check));
  const tolerance = toleranceOf(p, base);
  if (-impliedOpening <= tolerance) return null;
  const shortfall = -impliedOpening;
  return {
    // The same key as any stock check of that day: one declaration, one finding.
    findingKey: `stock|${producerId}|${check.material}|${check.day}`,
    material: check.material,
    score: clampScore(shortfall / Math.max(base, 1)),
    producerId,
    subjectEventIds: check.subjectIds,
    summary: `${producerId} first declared ${tonnes(declared)} of ${check.material} on ${isoDay(check.day)}, ${tonnes(shortfall)} less than its own reports since tracking began leave it holding (${tonnes(check.bookKg)}): goods left without a report.`,
    evidence: {
      check: 'first-declaration',
      ...periodEvidence(check, p),
      declaredStockKg: kg(declared),
      impliedOpeningStockKg: kg(impliedOpening),
      shortfallKg: kg(shortfall),
      gapPct: pct(shortfall / Math.max(base, 1)),
      direction: 'below',
      toleranceKg: kg(tolerance),
    },
    eventTime: dayEnd(check.day),
    // Since tracking began: the book has no opening declaration.
    windowStart: null,
    windowEnd: dayEnd(check.day),
  };
}

function stockDraft(producerId: string, check: FiredCheck, p: VolumeMismatchParams): AlertDraft | null {
  if (check.declaredKg === undefined) return null;
  if (check.opening === null) return firstDeclarationDraft(producerId, check, check.declaredKg, p);
  const declared = check.declaredKg;
  // Both sides are kept to the gram; their difference is too, or float noise decides at the threshold.
  const gap = roundKg(declared - check.bookKg);
  const base = Math.max(Math.abs(check.bookKg), declared, available(check));
  const tolerance = toleranceOf(p, base);
  if (Math.abs(gap) <= tolerance) return null;
  const direction = gap < 0 ? 'below' : 'above';
  const meaning = gap < 0 ? 'goods left without a report' : 'goods arrived without a report';
  return {
    findingKey: `stock|${producerId}|${check.material}|${check.day}`,
    material: check.material,
    score: clampScore(Math.abs(gap) / Math.max(base, 1)),
    producerId,
    subjectEventIds: check.subjectIds,
    summary: `${producerId} declared ${tonnes(declared)} of ${check.material} on ${isoDay(check.day)}, ${tonnes(Math.abs(gap))} ${direction} its book balance of ${tonnes(check.bookKg)}: ${meaning}.`,
    evidence: {
      check: 'declared-stock',
      ...periodEvidence(check, p),
      declaredStockKg: kg(declared),
      gapKg: kg(gap),
      gapPct: pct(Math.abs(gap) / Math.max(base, 1)),
      direction,
      toleranceKg: kg(tolerance),
    },
    eventTime: dayEnd(check.day),
    windowStart: dayStart(check.opening.day + 1),
    windowEnd: dayEnd(check.day),
  };
}

export const volumeMismatch = defineRule({
  id: 'volume-mismatch',
  version: 1,
  description: 'Shipped or consumed beyond produced + received + stock after a grace period; declared stock differing from the book balance; a first declaration below what the reports since tracking began leave.',
  params: volumeMismatchParams,
  // The score is the deficit as a share of outflows: 10 % unexplained is already serious.
  bands: { MEDIUM: 0.1, HIGH: 0.3, CRITICAL: 0.6 },
  evaluate({ report, result }: RuleInput, params) {
    const drafts: AlertDraft[] = [];
    for (const check of result.checks) {
      const p = params(check.material);
      const draft = check.kind === 'deficit' ? deficitDraft(report.event.producerId, check, p) : stockDraft(report.event.producerId, check, p);
      if (draft) drafts.push(draft);
    }
    return drafts;
  },
});
