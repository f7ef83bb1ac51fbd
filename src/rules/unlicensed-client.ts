/**
 * unlicensed-client: an export of controlled material needs a licence that names this exporter,
 * this client and this material, is in force on the shipment date, and is neither suspended nor
 * revoked at the time the goods went (the licence version in effect at the shipment's occurredAt). The evidence lists every way the licence fails, not just the first.
 */
import { z } from 'zod';
import type { ShipmentReport } from '../domain/events.ts';
import { licenceMisfits, type LicenceMisfit } from '../domain/licence-fit.ts';
import { effectiveTimeOf } from '../domain/licence-versions.ts';
import { HOUR_MS, iso } from '../domain/time.ts';
import { kg, tonnes } from './format.ts';
import { defineRule, type AlertDraft } from './rule.ts';

type Reason = 'no-licence' | 'unknown-licence' | LicenceMisfit;

/** How damning each reason is on its own; the finding's score is the worst of its reasons. */
const REASON_SCORE: Record<Reason, number> = {
  'no-licence': 0.9,
  'unknown-licence': 0.9,
  revoked: 0.95,
  'other-exporter': 0.9,
  'other-client': 0.85,
  suspended: 0.8,
  'material-not-covered': 0.75,
  expired: 0.65,
  'not-yet-valid': 0.65,
};

const REASON_TEXT: Record<Reason, string> = {
  'no-licence': 'with no licence',
  'unknown-licence': 'under a licence that does not exist',
  revoked: 'under a revoked licence',
  'other-exporter': "under another exporter's licence",
  'other-client': 'under a licence issued for another client',
  suspended: 'under a suspended licence',
  'material-not-covered': 'under a licence that does not cover the material',
  expired: 'under an expired licence',
  'not-yet-valid': 'under a licence not yet valid',
};

export const unlicensedClientParams = z.object({
  /** Shipments this many hours outside a licence's validity still count as inside (clock skew, paperwork). */
  validityToleranceHours: z.number().min(0).max(24 * 31).default(0),
  /** Materials exempt from the check even when the catalogue marks them controlled. */
  exemptMaterials: z.array(z.string()).default([]),
});
export type UnlicensedClientParams = z.output<typeof unlicensedClientParams>;

export function unlicensedReasons(
  shipment: ShipmentReport,
  licence: Parameters<typeof licenceMisfits>[0] | null,
  validityToleranceMs: number,
): Reason[] {
  if (!shipment.licenceId) return ['no-licence'];
  if (!licence) return ['unknown-licence'];
  return licenceMisfits(licence, shipment, validityToleranceMs);
}

export const unlicensedClient = defineRule({
  id: 'unlicensed-client',
  version: 1,
  description: 'Export of controlled material without a fitting, valid, active licence.',
  params: unlicensedClientParams,
  kinds: ['shipments'],
  evaluate({ report, licence, catalogue }, params) {
    if (report.kind !== 'shipments') return [];
    const s = report.event;
    if (s.direction !== 'EXPORT' || !catalogue.isControlled(s.material)) return [];
    const p = params(s.material);
    if (p.exemptMaterials.includes(s.material)) return [];
    const reasons = unlicensedReasons(s, licence, p.validityToleranceHours * HOUR_MS);
    if (reasons.length === 0) return [];
    const score = Math.max(...reasons.map((r) => REASON_SCORE[r]));
    const evidence: Record<string, string> = {
      reasons: reasons.join(','),
      material: s.material,
      quantityKg: kg(s.quantityKg),
      clientId: s.clientId,
      clientName: s.clientName,
      destinationCountry: s.destinationCountry,
      licenceId: s.licenceId ?? 'none',
      shipmentId: s.shipmentId,
      shippedAt: iso(s.occurredAt),
    };
    if (licence) {
      Object.assign(evidence, {
        licenceExporterId: licence.exporterId,
        licenceClientId: licence.clientId,
        licenceMaterials: licence.materials.join(','),
        licenceValidFrom: iso(licence.validFrom),
        licenceValidTo: iso(licence.validTo),
        licenceStatus: licence.status,
        // The version judged: in effect from this time (a suspension's or revocation's effectiveAt).
        licenceStatusSince: iso(effectiveTimeOf(licence)),
      });
    }
    const draft: AlertDraft = {
      findingKey: `${s.producerId}|${s.shipmentId}`,
      score,
      severityFloor: reasons.includes('no-licence') || reasons.includes('revoked') ? 'HIGH' : undefined,
      producerId: s.producerId,
      clientId: s.clientId,
      licenceId: s.licenceId ?? null,
      subjectEventIds: [s.reportId],
      summary: `${s.producerId} exported ${tonnes(s.quantityKg)} of controlled ${s.material} to ${s.clientName} (${s.destinationCountry}) ${reasons.map((r) => REASON_TEXT[r]).join(', ')}.`,
      evidence,
      eventTime: s.occurredAt,
    };
    return [draft];
  },
});
