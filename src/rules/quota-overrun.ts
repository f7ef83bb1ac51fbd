/**
 * quota-overrun: a mining or separation enterprise's production in a calendar year (UTC, by
 * occurredAt), of the materials of one of its ProductionQuotas, above the quota's quotaKg. The
 * State Council sets these annual limits and exceeding one cuts next year's quota
 * (RULE-EVIDENCE.md), so output past it is either an overrun or ore that will leave off the books.
 *
 * One finding per quota and year. The production report that first takes the total over is its
 * subject; later production of the quota's materials in that year publishes the finding again
 * (same alertId, next revision) with the new total once it has grown by `updateStepPct` of the
 * quota since the last revision, at most once per report.
 *
 * Totals are kept per year and material whether or not a quota is known, so a quota that arrives
 * after some of the year's production still sees all of it: the first production report judged
 * with the quota in place is then the subject, and its evidence says the total was already over.
 * A producer's production reports are one partition, read in the same order live and in replay,
 * so the crossing report is the same in both.
 */
import { z } from 'zod';
import type { ProductionQuota, ProductionReport } from '../domain/events.ts';
import { STAGES } from '../domain/events.ts';
import { iso } from '../domain/time.ts';
import { roundKg } from '../state/balance.ts';
import { Counters } from '../state/engine/counters.ts';
import { kg, pct, tonnes } from './format.ts';
import { QuotaFindings, type QuotaFinding } from './quota-findings.ts';
import { defineRule, type AlertDraft, type RuleState } from './rule.ts';
import { clampScore } from './severity.ts';

export const quotaOverrunParams = z.object({
  /**
   * Production stages that count against a quota. Only designated enterprises may mine or separate,
   * and the annual limits are set on mining and separation (RULE-EVIDENCE.md); metal made from
   * oxide already counted is not counted again.
   */
  stages: z.array(z.enum(STAGES)).min(1).default(['MINING', 'SEPARATION']),
  /**
   * Overrun allowed before a finding, in percent of quotaKg. None by default: the quota is a legal
   * cap, and the score (and so the severity) already grows with the size of the overrun.
   */
  tolerancePct: z.number().min(0).max(100).default(0),
  /**
   * An update (next revision) once the total has grown by this percentage of quotaKg since the
   * last published one. A plant runs daily: an update per run would bury the lead in repeats,
   * while 5 % moves the score by 0.05, so each update says something (0: every report).
   */
  updateStepPct: z.number().min(0).max(100).default(5),
});
export type QuotaOverrunParams = z.output<typeof quotaOverrunParams>;

/** The UTC year of a time; the last year found is kept with its bounds, since a producer's runs mostly fall in it (no Date made per report). */
let lastYear = { year: 0, from: 0, to: -Infinity };
function yearOf(epochMs: number): number {
  if (epochMs >= lastYear.from && epochMs < lastYear.to) return lastYear.year;
  const year = new Date(epochMs).getUTCFullYear();
  // setUTCFullYear, not Date.UTC, which reads years 0-99 as 1900-1999.
  lastYear = { year, from: new Date(0).setUTCFullYear(year, 0, 1), to: new Date(0).setUTCFullYear(year + 1, 0, 1) };
  return year;
}
const totalKey = (year: number, material: string): string => `${year}|${material}`;

/** Adds the report to its year's total of its material; kept whether or not a quota names it yet. */
function recordProduction(state: RuleState, e: ProductionReport): Counters {
  const produced = state.cell('produced', () => new Counters());
  produced.add(totalKey(yearOf(e.occurredAt), e.material), e.quantityKg);
  return produced;
}

interface Overrun {
  quota: ProductionQuota;
  totalKg: number;
  beforeKg: number;
  byMaterial: string;
}

/** The quota's year total after this report, if it is over the limit. */
function overrunOf(quota: ProductionQuota, produced: Counters, e: ProductionReport, p: QuotaOverrunParams): Overrun | null {
  const perMaterial = quota.materials.map((m) => [m, produced.get(totalKey(quota.year, m))] as const);
  const totalKg = roundKg(perMaterial.reduce((sum, [, v]) => sum + v, 0));
  // To the gram, like the totals: a tolerance in percent is rarely exact in floating point.
  const limit = roundKg(quota.quotaKg * (1 + p.tolerancePct / 100));
  if (totalKg <= limit) return null;
  return {
    quota,
    totalKg,
    beforeKg: roundKg(totalKg - e.quantityKg),
    byMaterial: perMaterial.map(([m, v]) => `${m} ${kg(v)}`).join('; '),
  };
}

function draftOf(e: ProductionReport, o: Overrun, finding: QuotaFinding, p: QuotaOverrunParams): AlertDraft {
  const { quota } = o;
  const over = roundKg(o.totalKg - quota.quotaKg);
  const first = finding.revision === 1;
  const how = first
    ? o.beforeKg > quota.quotaKg
      ? `already over before report ${e.reportId}, the first judged with the quota in place`
      : `report ${e.reportId} took it over`
    : `report ${e.reportId} took it further over`;
  return {
    findingKey: `quota|${e.producerId}|${quota.quotaId}|${quota.year}`,
    revision: finding.revision,
    // Any overrun of a legal cap is a lead; half the quota over or more is as bad as it gets.
    score: clampScore(0.5 + over / quota.quotaKg),
    producerId: e.producerId,
    subjectEventIds: [finding.crossingReportId],
    summary: `${e.producerId} has produced ${tonnes(o.totalKg)} of ${quota.materials.join(', ')} in ${quota.year}, ${tonnes(over)} over its quota ${quota.quotaId} of ${tonnes(quota.quotaKg)}: ${how}.`,
    evidence: {
      quotaId: quota.quotaId,
      year: String(quota.year),
      materials: quota.materials.join(', '),
      quotaKg: kg(quota.quotaKg),
      producedKg: kg(o.totalKg),
      producedByMaterial: o.byMaterial,
      overKg: kg(over),
      overPct: pct(over / quota.quotaKg),
      tolerancePct: String(p.tolerancePct),
      countedStages: p.stages.join(', '),
      crossingReportId: finding.crossingReportId,
      crossedAt: iso(finding.crossingOccurredAt),
      overBeforeQuotaKnown: String(first && o.beforeKg > quota.quotaKg),
      latestReportId: e.reportId,
      latestReportKg: kg(e.quantityKg),
      latestMaterial: e.material,
      latestAt: iso(e.occurredAt),
    },
    eventTime: e.occurredAt,
    windowStart: Date.UTC(quota.year, 0, 1),
    windowEnd: e.occurredAt,
  };
}

export const quotaOverrun = defineRule({
  id: 'quota-overrun',
  version: 1,
  description: "A mining or separation producer's production in a calendar year, of the materials of its ProductionQuota, above quotaKg.",
  params: quotaOverrunParams,
  kinds: ['production'],
  evaluate({ report, state, quotas }, params) {
    if (report.kind !== 'production') return [];
    const e = report.event;
    // A quota spans materials, so its parameters are the producer's, not one material's.
    const p = params();
    if (!p.stages.includes(e.stage)) return [];
    const produced = recordProduction(state, e);
    const year = yearOf(e.occurredAt);
    const findings = state.cell('findings', () => new QuotaFindings());
    const drafts: AlertDraft[] = [];
    for (const quota of quotas ?? []) {
      if (quota.producerId !== e.producerId || quota.year !== year || !quota.materials.includes(e.material)) continue;
      const overrun = overrunOf(quota, produced, e, p);
      if (!overrun) continue;
      const key = `${quota.quotaId}|${year}`;
      const held = findings.get(key);
      if (held && overrun.totalKg - held.publishedKg < roundKg((quota.quotaKg * p.updateStepPct) / 100)) continue;
      const finding: QuotaFinding = held
        ? { ...held, revision: held.revision + 1, publishedKg: overrun.totalKg }
        : { revision: 1, crossingReportId: e.reportId, crossingOccurredAt: e.occurredAt, publishedKg: overrun.totalKg };
      findings.set(key, finding);
      drafts.push(draftOf(e, overrun, finding, p));
    }
    return drafts;
  },
});
