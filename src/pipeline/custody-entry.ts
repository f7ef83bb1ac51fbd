/** Which side of a domestic transfer a report is, for the custody ledger (state/custody-ledger.ts). */
import type { Report } from '../domain/events.ts';
import type { CustodyEntry } from '../state/custody-ledger.ts';

/** A DOMESTIC shipment's or a receipt's side of its shipmentId; null for every other report. */
export function custodyEntryOf(report: Report): CustodyEntry | null {
  if (report.kind === 'shipments' && report.event.direction === 'DOMESTIC') {
    const e = report.event;
    return { shipmentId: e.shipmentId, side: 'shipment', value: { reportId: e.reportId, producerId: e.producerId, counterpartyId: e.clientId, material: e.material, quantityKg: e.quantityKg, occurredAt: e.occurredAt } };
  }
  if (report.kind === 'receipts') {
    const e = report.event;
    return { shipmentId: e.shipmentId, side: 'receipt', value: { reportId: e.reportId, producerId: e.producerId, counterpartyId: e.supplierId, material: e.material, quantityKg: e.quantityKg, occurredAt: e.occurredAt } };
  }
  return null;
}
