/**
 * Whether a licence covers an export, and if not, every reason why. Shared by the
 * unlicensed-client rule and by the pipeline, which counts quota only against a licence
 * that is the exporter's own for this client and material.
 */
import type { Licence, ShipmentReport } from './events.ts';

export type LicenceMisfit =
  | 'other-exporter'
  | 'other-client'
  | 'material-not-covered'
  | 'not-yet-valid'
  | 'expired'
  | 'suspended'
  | 'revoked';

export function licenceMisfits(licence: Licence, shipment: ShipmentReport, validityToleranceMs = 0): LicenceMisfit[] {
  const reasons: LicenceMisfit[] = [];
  if (licence.exporterId !== shipment.producerId) reasons.push('other-exporter');
  if (licence.clientId !== shipment.clientId) reasons.push('other-client');
  if (!licence.materials.includes(shipment.material)) reasons.push('material-not-covered');
  if (shipment.occurredAt < licence.validFrom - validityToleranceMs) reasons.push('not-yet-valid');
  if (shipment.occurredAt > licence.validTo + validityToleranceMs) reasons.push('expired');
  if (licence.status === 'SUSPENDED') reasons.push('suspended');
  if (licence.status === 'REVOKED') reasons.push('revoked');
  return reasons;
}

/** Quota is counted only for the licence holder's own exports of covered goods to the named client. */
export function countsAgainstQuota(licence: Licence, shipment: ShipmentReport): boolean {
  return (
    licence.exporterId === shipment.producerId &&
    licence.clientId === shipment.clientId &&
    licence.materials.includes(shipment.material)
  );
}
