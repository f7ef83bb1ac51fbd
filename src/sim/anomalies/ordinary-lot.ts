/**
 * Sizes an injected export like the exporter's ordinary lots, so an anomaly about its paperwork
 * (HS code, value, destination, licence) is not also an outsized export, which volume-spike would
 * rightly flag: each injected anomaly breaks exactly one rule.
 */
import { median } from 'simple-statistics';
import type { InjectionContext } from './injector.ts';

/** Earlier exports needed before the exporter has an "ordinary" lot to imitate. */
const MIN_EXPORTS = 4;

/** The exporter's median export of the material, once it has a few. */
export function usualLotG(ctx: InjectionContext, producerId: string, material: string): number | null {
  const history = ctx.exports(producerId, material).slice(-30);
  return history.length >= MIN_EXPORTS ? median(history.map((x) => x.kg)) * 1000 : null;
}

/** `grams`, brought down to 0.8-1.5x the exporter's usual lot when it has one (whole kg, at least 1 kg). */
export function ordinaryLotG(ctx: InjectionContext, producerId: string, material: string, grams: number): number {
  const usual = usualLotG(ctx, producerId, material);
  if (usual === null) return grams;
  return Math.max(1_000, Math.min(grams, Math.floor((usual * ctx.rng.float(0.8, 1.5)) / 1000) * 1000));
}
