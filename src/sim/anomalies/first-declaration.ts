/**
 * volume-mismatch, first declaration: on the run's first day a producer declares less of a product
 * than its own reports of that day leave it holding (produced + received - shipped - consumed),
 * as if goods had left before tracking began. The detector never sees the opening stock, so a
 * clean first declaration is what the reports leave plus that stock; this one implies a negative
 * opening stock. Sized well past the detector's tolerance, like the other volume-mismatch anomalies.
 */
import type { InjectionContext, Injector } from './injector.ts';
import { TOLERANCE_MULTIPLE, toleranceG } from './volume-mismatch.ts';

const RULE = 'volume-mismatch' as const;
/** A shortfall under this would be a matter of scales, not of goods gone. */
const MIN_SHORTFALL_G = 100_000;

function inject(ctx: InjectionContext): boolean {
  const { rng, world } = ctx;
  for (const p of rng.shuffled(world.producers)) {
    for (const { material } of rng.shuffled(p.products)) {
      if (ctx.tainted(p.id, material)) continue;
      const reportedG = ctx.sinceStartG(p.id, material);
      // The detector's tolerance base is the largest of book, declared and available.
      const tolerance = toleranceG(Math.max(reportedG, ctx.periodInG(p.id, material)));
      const declared = Math.floor((reportedG * rng.float(0.2, 0.7)) / 100) * 100;
      if (reportedG - declared < Math.max(MIN_SHORTFALL_G, TOLERANCE_MULTIPLE * tolerance)) continue;
      ctx.taint(p.id, material);
      ctx.overrideDeclaration(p.id, material, declared, (reportId) =>
        ctx.label('first-declaration', { ruleId: RULE, producerId: p.id, subjectEventIds: [reportId] }),
      );
      return true;
    }
  }
  return false;
}

export const firstDeclarationInjector: Injector = {
  ruleId: RULE,
  weight: 0.1,
  // Its check waits 72 h after day 0 on the producer's clock, which runs on with clean traffic.
  tailDays: 0,
  firstDayOnly: true,
  inject,
};
