// The builders promise valid events; if a schema tightens, this is where the builders are told.
import { describe, expect, it } from 'vitest';
import { REPORT_SCHEMAS, licence as licenceSchema } from '../../src/domain/events.ts';
import { licenceMisfits } from '../../src/domain/licence-fit.ts';
import { inventory, licence, production, receipt, reports, shipment } from '../helpers/builders.ts';

describe('test builders', () => {
  it.each([
    ['production', REPORT_SCHEMAS.production, production()],
    ['shipment', REPORT_SCHEMAS.shipments, shipment()],
    ['shipment of another material', REPORT_SCHEMAS.shipments, shipment({ material: 'TB_OXIDE', quantityKg: 3 })],
    ['receipt', REPORT_SCHEMAS.receipts, receipt()],
    ['inventory', REPORT_SCHEMAS.inventory, inventory()],
    ['licence', licenceSchema, licence()],
  ])('make a valid %s', (_, schema, value) => {
    expect(schema.safeParse(value).error?.issues ?? []).toEqual([]);
  });

  it('make a default shipment that the default licence covers', () => {
    expect(licenceMisfits(licence(), shipment())).toEqual([]);
  });

  it('never give two reports the same id', () => {
    const ids = [reports.production(), reports.shipments(), reports.receipts(), reports.inventory(), reports.shipments()].map((r) => r.event.reportId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
