/**
 * undervaluation: an export declared at a USD/kg far below what the goods are worth, two ways:
 * - under the catalogue floor (the exporting market's price below which a value is hard to
 *   explain; RULE-EVIDENCE.md's caution: Chinese domestic prices, not European quotes);
 * - a robust outlier, far below the exporter's own recent declared prices of that material:
 *   modified z = 0.6745 (x - median) / MAD under -3.5 (Iglewicz & Hoaglin), MAD replaced by
 *   1.2533 x the mean absolute deviation when it is 0. With too few earlier prices this path
 *   says "not enough history" instead of guessing.
 * The history is the exporter's own (per producer and material) so it depends only on that
 * producer's reports, and a replay sees exactly what the live detector saw.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { PRICE_HISTORY_KEPT } from '../state/engine/price-history.ts';
import { fixed, kg, pct, tonnes } from './format.ts';
import { modifiedZ, robustBaseline } from './robust-stats.ts';
import { defineRule } from './rule.ts';
import { clampScore } from './severity.ts';

export const undervaluationParams = z.object({
  /** Share of the catalogue floor below which a declared price is a finding (1 = the floor itself). */
  floorFactor: z.number().positive().max(2).default(1),
  /** Modified z-score below minus this is a finding. */
  zThreshold: z.number().positive().max(20).default(3.5),
  /** Earlier prices needed before the distribution is trusted. */
  minHistory: z.number().int().min(3).max(PRICE_HISTORY_KEPT).default(8),
  /**
   * How far under the recent median the price must also be, in percent. Small histories give
   * small MADs, and a z-score alone would flag ordinary price noise; under-invoicing that matters
   * is a large cut.
   */
  minShortfallPct: z.number().min(0).max(100).default(30),
  /** Earlier prices looked at, most recent first. */
  historySize: z.number().int().min(3).max(PRICE_HISTORY_KEPT).default(30),
});
export type UndervaluationParams = z.output<typeof undervaluationParams>;

export type HistoryVerdict =
  | { kind: 'not-enough-history'; n: number }
  | { kind: 'no-spread'; n: number; median: number }
  | { kind: 'scored'; n: number; median: number; spread: number; spreadKind: 'MAD' | 'meanAD'; z: number };

export function judgeAgainstHistory(price: number, history: readonly number[], p: UndervaluationParams): HistoryVerdict {
  const recent = history.slice(-p.historySize);
  if (recent.length < p.minHistory) return { kind: 'not-enough-history', n: recent.length };
  const baseline = robustBaseline(recent);
  if (baseline.kind === 'no-spread') return baseline;
  return { kind: 'scored', n: baseline.n, median: baseline.median, spread: baseline.spread, spreadKind: baseline.spreadKind, z: modifiedZ(price, baseline) };
}

export const undervaluation = defineRule({
  id: 'undervaluation',
  version: 2,
  description: 'Declared USD/kg far under the catalogue floor or the exporter’s robust recent distribution.',
  params: undervaluationParams,
  kinds: ['shipments'],
  evaluate({ report, catalogue, priceHistory }, params) {
    if (report.kind !== 'shipments' || report.event.direction !== 'EXPORT') return [];
    const s = report.event;
    const p = params(s.material);
    const price = s.declaredValueUsd / s.quantityKg;
    const entry = catalogue.get(s.material);
    const floor = entry ? entry.floorUsdPerKg * p.floorFactor : undefined;
    const belowFloor = floor !== undefined && price < floor;
    const verdict = judgeAgainstHistory(price, priceHistory ?? [], p);
    const shortfall = verdict.kind === 'not-enough-history' ? 0 : 1 - price / verdict.median;
    const shortEnough = verdict.kind !== 'not-enough-history' && price <= verdict.median * (1 - p.minShortfallPct / 100);
    // A history at one price (a fixed contract price) has no spread to score against: any drop is
    // infinitely far out, and a cent's spread would make the same drop CRITICAL. The shortfall
    // alone decides there.
    const outlier = shortEnough && (verdict.kind === 'no-spread' ? price < verdict.median : verdict.kind === 'scored' && verdict.z < -p.zThreshold);
    if (!belowFloor && !outlier) return [];

    // Half the floor or a z twice the threshold is as clear as it gets.
    const floorScore = belowFloor ? 0.5 + (1 - price / floor!) : 0;
    const zScore = !outlier ? 0 : verdict.kind === 'scored' ? 0.5 + 0.5 * ((-verdict.z - p.zThreshold) / p.zThreshold) : 1;
    const checks = [belowFloor ? 'catalogue-floor' : '', outlier ? 'recent-distribution' : ''].filter(Boolean);
    const evidence: Record<string, string> = {
      checks: checks.join(','),
      declaredUsdPerKg: fixed(price, 2),
      declaredValueUsd: fixed(s.declaredValueUsd, 2),
      quantityKg: kg(s.quantityKg),
      material: s.material,
      referenceUsdPerKg: entry ? String(entry.referenceUsdPerKg) : 'unknown material',
      floorUsdPerKg: floor !== undefined ? fixed(floor, 2) : 'unknown material',
      shareOfReference: entry ? pct(price / entry.referenceUsdPerKg) : 'n/a',
      history: verdict.kind,
      historyPrices: String(verdict.n),
      minHistory: String(p.minHistory),
      shipmentId: s.shipmentId,
      shippedAt: iso(s.occurredAt),
    };
    if (verdict.kind !== 'not-enough-history') {
      evidence.historyMedianUsdPerKg = fixed(verdict.median, 2);
      evidence.shortfallFromMedian = pct(shortfall);
      evidence.minShortfallPct = String(p.minShortfallPct);
    }
    if (verdict.kind === 'scored') {
      Object.assign(evidence, { [verdict.spreadKind === 'MAD' ? 'historyMad' : 'historyMeanAdScaled']: fixed(verdict.spread, 3), modifiedZ: fixed(verdict.z, 2), zThreshold: `-${p.zThreshold}` });
    }
    const against = [
      belowFloor ? `the ${fixed(floor!, 2)} USD/kg floor (reference ${entry!.referenceUsdPerKg})` : '',
      outlier && verdict.kind === 'scored' ? `its recent median of ${fixed(verdict.median, 2)} USD/kg (modified z ${fixed(verdict.z, 1)})` : '',
      outlier && verdict.kind === 'no-spread' ? `the ${fixed(verdict.median, 2)} USD/kg of every one of its last ${verdict.n} exports` : '',
    ].filter(Boolean);
    return [
      {
        findingKey: `${s.producerId}|${s.shipmentId}`,
        score: clampScore(Math.max(floorScore, zScore)),
        producerId: s.producerId,
        clientId: s.clientId,
        licenceId: s.licenceId ?? null,
        subjectEventIds: [s.reportId],
        summary: `${s.producerId} declared ${tonnes(s.quantityKg)} of ${s.material} to ${s.clientName} (${s.destinationCountry}) at ${fixed(price, 2)} USD/kg, below ${against.join(' and below ')}.`,
        evidence,
        eventTime: s.occurredAt,
      },
    ];
  },
});
