/**
 * volume-spike anomalies: one export far above the exporter's usual for the material, from stock
 * it really holds (so the books stay whole): 6-10x its median export to a client it already
 * serves, or 5-8x its median as the first export to a client it never shipped to (an
 * uncontrolled material, so no licence is missing). Only exporters with a settled history qualify.
 */
import { median } from 'simple-statistics';
import { volumeSpikeParams } from '../../rules/volume-spike.ts';
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'volume-spike' as const;
const DEFAULTS = volumeSpikeParams.parse({});

/** The exporter's median over the exports the rule would look at, once there are comfortably enough. */
function usualKg(ctx: InjectionContext, producerId: string, material: string): number | null {
  // The rule's baseline is the exports before the spike in event time: those of earlier days.
  const history = ctx.exports(producerId, material).filter((x) => x.at < ctx.dayStart).slice(-DEFAULTS.historySize);
  return history.length >= DEFAULTS.minHistory + 2 ? median(history.map((x) => x.kg)) : null;
}

function spikeToKnownClient(ctx: InjectionContext): boolean {
  const { rng } = ctx;
  const occurredAt = ctx.workTime();
  const reportedAt = occurredAt + ctx.reportDelay();
  for (const p of rng.shuffled(ctx.world.producers.filter((x) => x.clients.length > 0))) {
    for (const link of rng.shuffled(p.clients)) {
      for (const material of rng.shuffled(link.materials)) {
        const usual = usualKg(ctx, p.id, material);
        if (usual === null) continue;
        const grams = Math.round(usual * rng.float(6, 10)) * 1000;
        if (ctx.stockG(p.id, material) < grams) continue;
        let licence = null;
        if (ctx.catalogue.isControlled(material)) {
          licence = ctx.licences.fitting(p.id, link.clientId, material, occurredAt, reportedAt) ?? null;
          if (!licence || ctx.licences.remainingG(licence) < grams) continue;
        }
        const shipment = ctx.ship({ producerId: p.id, material, grams, direction: 'EXPORT', clientId: link.clientId, licenceId: licence?.licence.licenceId ?? null, occurredAt, reportedAt });
        if (licence) ctx.licences.count(licence, grams, reportedAt);
        ctx.label('spike', { ruleId: RULE, producerId: p.id, subjectEventIds: [shipment.reportId], clientId: link.clientId, ...(licence ? { licenceId: licence.licence.licenceId } : {}) });
        return true;
      }
    }
  }
  return false;
}

function largeToNewClient(ctx: InjectionContext): boolean {
  const { rng } = ctx;
  for (const p of rng.shuffled(ctx.world.producers.filter((x) => x.clients.length > 0))) {
    const served = new Set(p.clients.map((l) => l.clientId));
    const strangers = ctx.world.clients.filter((c) => !served.has(c.id));
    if (strangers.length === 0) continue;
    for (const material of rng.shuffled(p.products.map((pr) => pr.material))) {
      if (ctx.catalogue.isControlled(material)) continue;
      const usual = usualKg(ctx, p.id, material);
      if (usual === null) continue;
      const grams = Math.round(usual * rng.float(5, 8)) * 1000;
      if (ctx.stockG(p.id, material) < grams) continue;
      const client = rng.pick(strangers);
      const occurredAt = ctx.workTime();
      const shipment = ctx.ship({ producerId: p.id, material, grams, direction: 'EXPORT', clientId: client.id, licenceId: null, occurredAt, reportedAt: occurredAt + ctx.reportDelay() });
      // The client is served from now on only by this anomaly; a second one must not find it new.
      p.clients.push({ clientId: client.id, weight: 0, materials: [] });
      ctx.label('new-client', { ruleId: RULE, producerId: p.id, subjectEventIds: [shipment.reportId], clientId: client.id });
      return true;
    }
  }
  return false;
}

export const volumeSpikeInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  // The rule judges an export once the watermark has passed it: 72 h of lateness behind the least
  // advanced report topic, and the inventory topic (stock declarations at month ends and every 14
  // days) can end a week before the others.
  tailDays: 10,
  inject(ctx) {
    return ctx.rng.chance(0.6) ? spikeToKnownClient(ctx) || largeToNewClient(ctx) : largeToNewClient(ctx) || spikeToKnownClient(ctx);
  },
};
