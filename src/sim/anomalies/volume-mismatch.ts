/**
 * volume-mismatch anomalies, two ways:
 * - oversized shipment: goods from nowhere. A producer ships more than its book holds, leaving a
 *   clear deficit at the end of the day (the detector's deficit check for that day).
 * - stock shortfall: goods gone without a report. A stock declaration 10-30 % under the book.
 *
 * The detector makes one deficit finding per producer, material and reconciliation period, so at
 * most one of these goes into any period (`tainted`). Both are sized well clear of the detector's
 * tolerance, max(5 kg, 0.5 % of the material available in the period).
 */
import type { InjectionContext, Injector } from './injector.ts';
import { usualLotG } from './ordinary-lot.ts';

const RULE = 'volume-mismatch' as const;
/** How far past the tolerance an injected gap goes, so a finding is never a rounding question. */
export const TOLERANCE_MULTIPLE = 3;
export const toleranceG = (availableG: number): number => Math.max(5_000, 0.005 * availableG);

function oversizedShipment(ctx: InjectionContext): boolean {
  const { rng, world, catalogue } = ctx;
  for (const p of rng.shuffled(world.producers)) {
    // A declaration on the same day would reconcile the day and stand in for the deficit check.
    if (ctx.declaresToday(p.id)) continue;
    for (const product of rng.shuffled(p.products)) {
      const material = product.material;
      const stock = ctx.stockG(p.id, material);
      if (ctx.tainted(p.id, material) || stock < 0) continue;
      // Domestic to a regular buyer, or abroad when the goods need no licence: either way the
      // shipment breaks only the mass balance.
      const buyers = (p.buyers.get(material) ?? []).filter((b) => !ctx.silent(b));
      const link = p.clients.find((l) => l.materials.includes(material));
      let direction: 'DOMESTIC' | 'EXPORT';
      let clientId: string;
      if (buyers.length > 0) {
        direction = 'DOMESTIC';
        clientId = rng.pick(buyers);
      } else if (link && !catalogue.isControlled(material)) {
        direction = 'EXPORT';
        clientId = link.clientId;
      } else continue;
      const deficit = Math.max(1_000_000, 0.25 * stock, TOLERANCE_MULTIPLE * toleranceG(ctx.periodInG(p.id, material))) * rng.float(1, 1.6);
      const grams = Math.ceil((stock + deficit) / 1000) * 1000;
      if (grams > 9_000_000_000) continue;
      // An export that large against the exporter's usual lot would be a volume-spike as well.
      const usual = direction === 'EXPORT' ? usualLotG(ctx, p.id, material) : null;
      if (direction === 'EXPORT' && (usual === null || grams > 3 * usual)) continue;
      const occurredAt = ctx.workTime();
      const shipment = ctx.ship({ producerId: p.id, material, grams, direction, clientId, licenceId: null, occurredAt, reportedAt: occurredAt + ctx.reportDelay() });
      ctx.taint(p.id, material);
      ctx.label('oversized-shipment', { ruleId: RULE, producerId: p.id, subjectEventIds: [shipment.reportId], clientId });
      return true;
    }
  }
  return false;
}

function stockShortfall(ctx: InjectionContext): boolean {
  const { rng, world } = ctx;
  for (const p of rng.shuffled(world.producers)) {
    if (!ctx.declaresToday(p.id)) continue;
    for (const material of rng.shuffled(p.materials)) {
      const book = ctx.stockG(p.id, material);
      if (ctx.tainted(p.id, material) || book <= 0) continue;
      // The detector's tolerance base is the largest of book, declared and available.
      const minGap = Math.max(50_000, TOLERANCE_MULTIPLE * toleranceG(Math.max(book, ctx.periodInG(p.id, material))));
      const gap = Math.max(book * rng.float(0.1, 0.3), minGap * rng.float(1, 1.2));
      if (gap > 0.3 * book) continue;
      const declared = Math.floor((book - gap) / 100) * 100;
      ctx.taint(p.id, material);
      ctx.overrideDeclaration(p.id, material, declared, (reportId) =>
        ctx.label('stock-shortfall', { ruleId: RULE, producerId: p.id, subjectEventIds: [reportId] }),
      );
      return true;
    }
  }
  return false;
}

export const volumeMismatchInjector: Injector = {
  ruleId: RULE,
  weight: 0.4,
  // The deficit and stock checks wait 72 h after the day on the producer's clock; a week leaves room
  // for a weekend without reports.
  tailDays: 7,
  inject(ctx) {
    return ctx.rng.chance(0.5) ? oversizedShipment(ctx) || stockShortfall(ctx) : stockShortfall(ctx) || oversizedShipment(ctx);
  },
};
