/**
 * reporting-gap's cadence: how long a producer may stay silent, learned from the gaps between its
 * distinct report days. Days, not reports: a producer that files a production run, two shipments
 * and a stock declaration in one afternoon has one report day, and counting the minutes between
 * those would teach the rule a cadence of minutes. Pure; the rule keeps the days in its cell.
 */
import { quantileSorted } from 'simple-statistics';
import { z } from 'zod';

export const reportingGapParams = z
  .object({
    /**
     * Gaps between report days needed before the producer is judged: six tell a daily reporter
     * (about a week of reports) from a weekly or monthly one; fewer would turn the first long
     * weekend of a new producer into its cadence. Until then: "not enough history", never an alert.
     */
    minGaps: z.number().int().min(2).max(60).default(6),
    /** The most recent gaps learned from: about a month of a daily reporter, two and a half years of a monthly one. */
    cadenceGaps: z.number().int().min(3).max(120).default(30),
    /**
     * The producer's usual longest gap is this quantile of its gaps (interpolated between ranks).
     * A high quantile, not the median: silence is judged against the long gaps the producer
     * ordinarily has (weekends, the days before a monthly filing), while one or two odd gaps in
     * thirty barely move it.
     */
    quantile: z.number().min(0.5).max(1).default(0.9),
    /** Silence allowed, as a multiple of that usual longest gap: "far beyond", not just longer. */
    factor: z.number().min(1).max(10).default(2),
    /**
     * Never less than three weeks: a Spring Festival shutdown runs one to two weeks with the
     * weekends around it (longer where workers travel far), and maintenance turnarounds take about
     * two; a daily reporter silent through either is ordinary.
     */
    floorDays: z.number().positive().max(365).default(21),
    /**
     * Never more than 45 days: the 2025 interim measures make every producer enter the previous
     * month's flows by the 10th of the next month, so even a monthly filer has at most ~40 days
     * between filings (the 1st of one month to the 10th of the next but one). Gaps longer than
     * this are silences, not cadence, and are left out of the learning.
     */
    capDays: z.number().positive().max(365).default(45),
  })
  .refine((p) => p.floorDays <= p.capDays, { message: 'floorDays must not exceed capDays', path: ['floorDays'] });
export type ReportingGapParams = z.output<typeof reportingGapParams>;

/** What bounded the allowed silence: the producer's own cadence, or the floor or cap around it. */
export type AllowedBy = 'cadence' | 'floor' | 'cap';

export interface Cadence {
  /** Gaps learned from. */
  gaps: number;
  medianGapDays: number;
  /** The `quantile` of the gaps: the producer's usual longest gap. */
  usualLongestGapDays: number;
  allowedGapDays: number;
  allowedBy: AllowedBy;
}

export type CadenceVerdict = { kind: 'not-enough-history'; gaps: number; minGaps: number } | ({ kind: 'learned' } & Cadence);

const gapsScratch: number[] = [];

/**
 * The producer's cadence from its report days up to the day judged (ascending, distinct): the
 * first `count` of `days` (default all), so a caller need not copy them out.
 */
export function judgeCadence(days: readonly number[], p: ReportingGapParams, count = days.length): CadenceVerdict {
  // The gaps between consecutive days, those within the cap, the last cadenceGaps of them: found
  // walking back from the newest, without copying the days, and kept in order as they come
  // (insertion into one array reused by every call: learned once per producer and report day, a
  // fresh array and a sort each time were garbage the replay kept collecting).
  const sorted = gapsScratch;
  sorted.length = 0;
  for (let i = count - 1; i > 0 && sorted.length < p.cadenceGaps; i -= 1) {
    const gap = days[i]! - days[i - 1]!;
    if (gap > p.capDays) continue;
    let at = sorted.length;
    while (at > 0 && sorted[at - 1]! > gap) {
      sorted[at] = sorted[at - 1]!;
      at -= 1;
    }
    sorted[at] = gap;
  }
  if (sorted.length < p.minGaps) return { kind: 'not-enough-history', gaps: sorted.length, minGaps: p.minGaps };
  const usual = quantileSorted(sorted, p.quantile);
  const wanted = p.factor * usual;
  const allowedBy: AllowedBy = wanted < p.floorDays ? 'floor' : wanted > p.capDays ? 'cap' : 'cadence';
  const allowed = allowedBy === 'floor' ? p.floorDays : allowedBy === 'cap' ? p.capDays : wanted;
  return { kind: 'learned', gaps: sorted.length, medianGapDays: quantileSorted(sorted, 0.5), usualLongestGapDays: usual, allowedGapDays: allowed, allowedBy };
}
