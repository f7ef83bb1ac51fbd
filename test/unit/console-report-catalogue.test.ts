import { describe, expect, it } from 'vitest';
import { createReportCatalogue, summariseReport } from '../../src/console/report-catalogue.ts';
import { D0, at, inventory, production, shipment } from '../helpers/builders.ts';

describe('report catalogue', () => {
  it('summarises each kind of report by the fields an investigator reads first', () => {
    const s = shipment({ producerId: 'P1', clientName: 'Acme GmbH', quantityKg: 500, licenceId: null, occurredAt: at(D0) });
    expect(summariseReport({ kind: 'shipments', event: s })).toMatchObject({
      reportId: s.reportId,
      kind: 'shipments',
      producerId: 'P1',
      occurredAt: at(D0),
      fields: { clientName: 'Acme GmbH', quantityKg: '500', licenceId: 'none', direction: s.direction, hsCode: s.hsCode },
    });
    const made = production({ inputs: [{ material: 'NDPR_OXIDE', quantityKg: 100 }] });
    expect(summariseReport({ kind: 'production', event: made }).fields.inputs).toBe('100 kg NDPR_OXIDE');
    expect(summariseReport({ kind: 'inventory', event: inventory({ onHandKg: 0 }) }).fields.onHandKg).toBe('0');
  });

  it('keeps reports named by an alert, whether they arrive before or after it, and lets old unnamed ones go', () => {
    const catalogue = createReportCatalogue(2);
    const [before, after, other1, other2, other3] = Array.from({ length: 5 }, () => shipment());
    catalogue.addReport({ kind: 'shipments', event: before! });
    catalogue.pin([before!.reportId, after!.reportId]);
    for (const r of [other1, other2, other3]) catalogue.addReport({ kind: 'shipments', event: r! });
    catalogue.addReport({ kind: 'shipments', event: after! });
    expect(catalogue.get(before!.reportId)?.reportId).toBe(before!.reportId);
    expect(catalogue.get(after!.reportId)?.reportId).toBe(after!.reportId);
    expect(catalogue.get(other1!.reportId)).toBeUndefined();
    expect(catalogue.get(other3!.reportId)?.reportId).toBe(other3!.reportId);
  });
});
