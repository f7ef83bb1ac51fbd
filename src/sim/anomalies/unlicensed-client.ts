/**
 * unlicensed-client anomalies: an export of controlled goods without a licence that fits, in each
 * of the ways the rule knows: none at all, an id that does not exist, another exporter's licence,
 * a licence for another client, one that does not cover the material, one expired or not yet
 * valid, one suspended or revoked.
 *
 * The goods come out of real stock, so the mass balance stays clean. Where the detector counts the
 * shipment against the named licence's quota (the licence is the exporter's own, for this client
 * and material), the licence keeps quota for it, so the quota rule stays quiet too.
 */
import type { SimLicence } from '../licensing.ts';
import type { SimProducer, World } from '../world.ts';
import { ordinaryLotG } from './ordinary-lot.ts';
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'unlicensed-client' as const;

type Variant =
  | 'no-licence'
  | 'unknown-licence'
  | 'other-exporter'
  | 'other-client'
  | 'material-not-covered'
  | 'expired'
  | 'not-yet-valid'
  | 'suspended'
  | 'revoked';

const VARIANT_WEIGHTS: [Variant, number][] = [
  ['no-licence', 3],
  ['unknown-licence', 1],
  ['other-exporter', 2],
  ['other-client', 2],
  ['material-not-covered', 1.5],
  ['expired', 2],
  ['not-yet-valid', 1],
  ['suspended', 1.5],
  ['revoked', 1],
];

interface Plan {
  exporter: SimProducer;
  material: string;
  grams: number;
  clientId: string;
  licence: SimLicence | null;
  licenceId: string | null;
  /** The detector will count it against `licence`'s quota. */
  counted: boolean;
}

/** A lot of controlled goods this exporter has in stock, or 0. */
function lotOf(ctx: InjectionContext, p: SimProducer, material: string): number {
  const stock = ctx.stockG(p.id, material);
  if (stock < 5_000) return 0;
  return ordinaryLotG(ctx, p.id, material, Math.max(1_000, Math.floor((stock * ctx.rng.float(0.3, 0.8)) / 1000) * 1000));
}

function controlledStock(ctx: InjectionContext, p: SimProducer): string[] {
  return p.products.map((pr) => pr.material).filter((m) => ctx.catalogue.isControlled(m) && ctx.stockG(p.id, m) >= 5_000);
}

/** Producers that export controlled goods at all, per world: the candidates worth looking at. */
const exportersOf = new WeakMap<World, SimProducer[]>();
function controlledExporters(ctx: InjectionContext): SimProducer[] {
  let list = exportersOf.get(ctx.world);
  if (!list) {
    list = ctx.world.producers.filter((p) => p.clients.length > 0 && p.products.some((pr) => ctx.catalogue.isControlled(pr.material)));
    exportersOf.set(ctx.world, list);
  }
  return list;
}

function planFor(variant: Variant, ctx: InjectionContext, occurredAt: number, reportedAt: number): Plan | null {
  const { rng, world, licences } = ctx;
  const exporters = rng.shuffled(controlledExporters(ctx).filter((p) => controlledStock(ctx, p).length > 0));
  for (const exporter of exporters) {
    const materials = rng.shuffled(controlledStock(ctx, exporter));
    const own = rng.shuffled(licences.ofExporter(exporter.id).filter((l) => licences.knownAt(l, reportedAt)));
    const ownCovering = (m: string) => own.filter((l) => l.licence.materials.includes(m));
    const base = (material: string) => ({ exporter, material, grams: lotOf(ctx, exporter, material) });
    switch (variant) {
      case 'no-licence':
      case 'unknown-licence': {
        const material = materials[0]!;
        const link = exporter.clients.find((l) => l.materials.includes(material)) ?? rng.pick(exporter.clients);
        let licenceId: string | null = null;
        if (variant === 'unknown-licence') {
          do licenceId = `L-${String(rng.int(900_000, 999_999))}`;
          while (licences.exists(licenceId));
        }
        return { ...base(material), clientId: link.clientId, licence: null, licenceId, counted: false };
      }
      case 'other-exporter': {
        const material = materials[0]!;
        const others = licences.all.filter((l) => l.licence.exporterId !== exporter.id && licences.knownAt(l, reportedAt));
        if (others.length === 0) continue;
        const covering = others.filter((l) => l.licence.materials.includes(material));
        const borrowed = rng.pick(covering.length > 0 ? covering : others);
        return { ...base(material), clientId: borrowed.licence.clientId, licence: borrowed, licenceId: borrowed.licence.licenceId, counted: false };
      }
      case 'other-client': {
        const material = materials[0]!;
        const mine = own[0];
        const others = world.clients.filter((c) => mine && c.id !== mine.licence.clientId);
        if (!mine || others.length === 0) continue;
        return { ...base(material), clientId: rng.pick(others).id, licence: mine, licenceId: mine.licence.licenceId, counted: false };
      }
      case 'material-not-covered': {
        for (const material of materials) {
          const l = own.find((x) => !x.licence.materials.includes(material));
          if (l) return { ...base(material), clientId: l.licence.clientId, licence: l, licenceId: l.licence.licenceId, counted: false };
        }
        continue;
      }
      case 'expired':
      case 'not-yet-valid':
      case 'suspended':
      case 'revoked': {
        for (const material of materials) {
          const l = ownCovering(material).find((x) => {
            if (variant === 'expired') return x.licence.validTo < occurredAt;
            if (variant === 'not-yet-valid') return x.licence.validFrom > occurredAt;
            return x.statusChange?.status === variant.toUpperCase() && licences.changedBefore(x, occurredAt);
          });
          if (!l) continue;
          const plan = { ...base(material), clientId: l.licence.clientId, licence: l, licenceId: l.licence.licenceId, counted: true };
          // Counted against the quota: keep under it, or the quota rule would fire as well.
          plan.grams = Math.min(plan.grams, Math.floor(licences.remainingG(l) / 1000) * 1000);
          if (plan.grams >= 1_000) return plan;
        }
        continue;
      }
    }
  }
  return null;
}

export const unlicensedClientInjector: Injector = {
  ruleId: RULE,
  weight: 0.4,
  tailDays: 0,
  inject(ctx) {
    const first = ctx.rng.weighted(VARIANT_WEIGHTS, ([, w]) => w)![0];
    const order = [first, ...ctx.rng.shuffled(VARIANT_WEIGHTS.map(([v]) => v).filter((v) => v !== first))];
    const occurredAt = ctx.workTime();
    const reportedAt = occurredAt + ctx.reportDelay();
    for (const variant of order) {
      const plan = planFor(variant, ctx, occurredAt, reportedAt);
      if (!plan || plan.grams < 1_000) continue;
      const shipment = ctx.ship({
        producerId: plan.exporter.id,
        material: plan.material,
        grams: plan.grams,
        direction: 'EXPORT',
        clientId: plan.clientId,
        licenceId: plan.licenceId,
        occurredAt,
        reportedAt,
      });
      if (plan.counted && plan.licence) ctx.licences.count(plan.licence, plan.grams, reportedAt);
      ctx.label(variant, {
        ruleId: RULE,
        producerId: plan.exporter.id,
        subjectEventIds: [shipment.reportId],
        clientId: plan.clientId,
        ...(plan.licenceId ? { licenceId: plan.licenceId } : {}),
      });
      return true;
    }
    return false;
  },
};
