/**
 * yield-anomaly anomalies: a production run that reports far more output than its declared inputs
 * can make (a third to a half of the inputs the run needs), or output with no rare-earth input at
 * all. The plant's books carry the run as reported, so the stock declarations still agree and only
 * the yield is wrong.
 */
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'yield-anomaly' as const;
const STAGES = new Set(['METAL', 'ALLOY', 'MAGNET']);

function inject(ctx: InjectionContext): boolean {
  const { rng, catalogue } = ctx;
  const noInput = rng.chance(0.35);
  for (const p of rng.shuffled(ctx.world.producers.filter((x) => STAGES.has(x.stage)))) {
    for (const product of rng.shuffled(p.products.filter((pr) => pr.inputs.length > 0 && catalogue.inputsOf(pr.material).length > 0))) {
      const grams = Math.max(100_000, Math.floor((product.capacityKg * rng.float(0.3, 0.8) * 1000) / 100) * 100);
      const inputs: [string, number][] = noInput
        ? []
        : product.inputs.map((i) => [i.material, Math.round(grams * i.kgPerKg * rng.float(0.3, 0.5))]);
      if (inputs.some(([material, g]) => ctx.stockG(p.id, material) < g)) continue;
      const allowedG = inputs.reduce((sum, [material, g]) => sum + g * (catalogue.maxYield(material, product.material) ?? 0), 0);
      // Well past the rule's 3 % tolerance, so the finding is never a rounding question.
      if (!noInput && grams < allowedG * 1.25) continue;
      const report = ctx.produce({ producerId: p.id, material: product.material, grams, inputs, occurredAt: ctx.workTime() });
      ctx.label(noInput ? 'no-input' : 'inflated-output', { ruleId: RULE, producerId: p.id, subjectEventIds: [report.reportId] });
      return true;
    }
  }
  return false;
}

export const yieldAnomalyInjector: Injector = { ruleId: RULE, weight: 0.2, tailDays: 0, inject };
