/**
 * The simulated world's production quotas (ree.quotas.v1): only mines and separation plants hold
 * them, one per producer and calendar year the run touches, for the materials the producer makes
 * (concentrate for a mine, the three oxides for a plant). Real quotas are allocated on capacity
 * (RULE-EVIDENCE.md: 270,000 t mining and 254,000 t separation nationally in 2024), so each is
 * the producer's yearly capacity with headroom: clean output, at most ~1.22x capacity on its best
 * day (a 1.15 busy-day factor in a +6 % season), stays clear of it whatever part of the year runs.
 */
import type { ProductionQuota } from '../domain/events.ts';
import { DAY_MS } from '../domain/time.ts';
import type { SimProducer, World } from './world.ts';

/** A year's quota as a multiple of a full year at capacity. */
export const QUOTA_HEADROOM = 1.3;
/** Issued this long before its year starts, so it is in the stream before the year's first report. */
const ISSUED_BEFORE_YEAR_MS = 15 * DAY_MS;

export const holdsQuota = (p: SimProducer): boolean => p.stage === 'MINING' || p.stage === 'SEPARATION';

export const quotaIdOf = (tag: string, producerId: string, year: number): string => `Q-${tag}-${producerId}-${year}`;

/** The UTC calendar years the days [startDay, startDay + days) touch. */
export function yearsOf(startDay: number, days: number): number[] {
  const first = new Date(startDay * DAY_MS).getUTCFullYear();
  const last = new Date((startDay + days - 1) * DAY_MS).getUTCFullYear();
  return Array.from({ length: last - first + 1 }, (_, i) => first + i);
}

export function quotasFor(world: World, tag: string, startDay: number, days: number): ProductionQuota[] {
  const quotas: ProductionQuota[] = [];
  for (const p of world.producers.filter(holdsQuota)) {
    const dailyKg = p.products.reduce((s, pr) => s + pr.capacityKg, 0);
    for (const year of yearsOf(startDay, days)) {
      quotas.push({
        quotaId: quotaIdOf(tag, p.id, year),
        producerId: p.id,
        year,
        materials: p.products.map((pr) => pr.material),
        quotaKg: Math.ceil((dailyKg * 365 * QUOTA_HEADROOM) / 1000) * 1000,
        issuedAt: Date.UTC(year, 0, 1) - ISSUED_BEFORE_YEAR_MS,
      });
    }
  }
  return quotas;
}
