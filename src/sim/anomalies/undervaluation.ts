/**
 * undervaluation anomalies: an export declared at a quarter to three quarters of the catalogue
 * floor, as in 2025's penalty cases (magnets at ~$27.7/kg against a ~$45-50/kg market).
 */
import { labelOf, properExport, shipDeclared } from './declared-export.ts';
import type { Injector } from './injector.ts';

const RULE = 'undervaluation' as const;

export const undervaluationInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  tailDays: 0,
  inject(ctx) {
    const pick = properExport(ctx, (material) => ctx.catalogue.get(material) !== undefined);
    if (!pick) return false;
    const floor = ctx.catalogue.get(pick.material)!.floorUsdPerKg;
    const declaredValueUsd = Math.round((pick.grams / 1000) * floor * ctx.rng.float(0.25, 0.75) * 100) / 100;
    const shipment = shipDeclared(ctx, pick, { declaredValueUsd });
    ctx.label('under-floor', { ruleId: RULE, ...labelOf(shipment) });
    return true;
  },
};
