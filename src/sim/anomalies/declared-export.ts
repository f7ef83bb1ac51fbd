/**
 * The base of the anomalies that lie on the paperwork of an otherwise proper export (HS code,
 * value, destination, client name): goods from real stock, under a licence that fits and has
 * quota left when they are controlled, so the only rule they break is the one the lie is about.
 */
import type { ShipmentReport } from '../../domain/events.ts';
import type { SimLicence } from '../licensing.ts';
import type { SimProducer } from '../world.ts';
import type { InjectionContext, ShipmentRequest } from './injector.ts';
import { ordinaryLotG } from './ordinary-lot.ts';

export interface ProperExport {
  exporter: SimProducer;
  material: string;
  clientId: string;
  licence: SimLicence | null;
  grams: number;
  occurredAt: number;
  reportedAt: number;
}

/** An export the exporter could make today, of a material `accept` takes; null when none fits. */
export function properExport(ctx: InjectionContext, accept: (material: string, exporter: SimProducer) => boolean): ProperExport | null {
  const { rng } = ctx;
  const occurredAt = ctx.workTime();
  const reportedAt = occurredAt + ctx.reportDelay();
  for (const exporter of rng.shuffled(ctx.world.producers.filter((p) => p.clients.length > 0))) {
    for (const link of rng.shuffled(exporter.clients)) {
      for (const material of rng.shuffled(link.materials)) {
        if (!accept(material, exporter)) continue;
        const stock = ctx.stockG(exporter.id, material);
        if (stock < 5_000) continue;
        let grams = ordinaryLotG(ctx, exporter.id, material, Math.max(1_000, Math.floor((stock * rng.float(0.2, 0.6)) / 1000) * 1000));
        let licence: SimLicence | null = null;
        if (ctx.catalogue.isControlled(material)) {
          licence = ctx.licences.fitting(exporter.id, link.clientId, material, occurredAt, reportedAt) ?? null;
          if (!licence) continue;
          grams = Math.min(grams, Math.floor(ctx.licences.remainingG(licence) / 1000) * 1000);
          if (grams < 1_000) continue;
        }
        return { exporter, material, clientId: link.clientId, licence, grams, occurredAt, reportedAt };
      }
    }
  }
  return null;
}

/** Ships it with the declaration's lies, counting licence use as the detector will. */
export function shipDeclared(ctx: InjectionContext, e: ProperExport, declared: ShipmentRequest['declared']): ShipmentReport {
  const shipment = ctx.ship({
    producerId: e.exporter.id,
    material: e.material,
    grams: e.grams,
    direction: 'EXPORT',
    clientId: e.clientId,
    licenceId: e.licence?.licence.licenceId ?? null,
    occurredAt: e.occurredAt,
    reportedAt: e.reportedAt,
    declared,
  });
  if (e.licence) ctx.licences.count(e.licence, e.grams, e.reportedAt);
  return shipment;
}

/** The label fields every declared-export anomaly carries. */
export const labelOf = (shipment: ShipmentReport) => ({
  producerId: shipment.producerId,
  subjectEventIds: [shipment.reportId],
  clientId: shipment.clientId,
  ...(shipment.licenceId ? { licenceId: shipment.licenceId } : {}),
});
