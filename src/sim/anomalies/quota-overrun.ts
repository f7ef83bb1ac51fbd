/**
 * quota-overrun anomalies: a mine or separation plant has its quota for the year re-issued lower
 * (quotas come in batches, and an overrun cuts the next one: RULE-EVIDENCE.md), to a few days of
 * output above what it has made so far, and keeps producing at its usual pace through it. The
 * labelled report is the one whose arrival, in stream order, first takes the year's total over
 * the new quota, as the detector sums it; later production only grows the same finding.
 */
import { holdsQuota } from '../quotas.ts';
import type { World } from '../world.ts';
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'quota-overrun' as const;
/** Producer-years already given a cut quota, per run: one overrun each. */
const cutIn = new WeakMap<World, Set<string>>();

function inject(ctx: InjectionContext): boolean {
  const { rng, world } = ctx;
  const year = new Date(ctx.dayStart).getUTCFullYear();
  const cut = cutIn.get(world) ?? new Set<string>();
  cutIn.set(world, cut);
  for (const p of rng.shuffled(world.producers.filter(holdsQuota))) {
    const quota = ctx.quotaOf(p.id, year);
    if (!quota || cut.has(`${p.id}|${year}`)) continue;
    const dailyG = p.products.reduce((s, pr) => s + pr.capacityKg, 0) * 1000;
    // Two to five days of output left: crossed within the next working week or so.
    const quotaG = Math.ceil((ctx.producedInYearG(p.id, year, quota.materials) + dailyG * rng.float(2, 5)) / 100_000) * 100_000;
    if (quotaG >= quota.quotaKg * 1000) continue;
    cut.add(`${p.id}|${year}`);
    ctx.reissueQuota({ ...quota, quotaKg: quotaG / 1000, issuedAt: ctx.dayStart + 3_600_000 }, (crossing) =>
      ctx.label('kept-producing', { ruleId: RULE, producerId: p.id, subjectEventIds: [crossing.reportId] }),
    );
    return true;
  }
  return false;
}

export const quotaOverrunInjector: Injector = {
  ruleId: RULE,
  weight: 0.15,
  // The crossing comes days of production after the cut; leave room for it, and for a holiday.
  tailDays: 14,
  inject,
};
