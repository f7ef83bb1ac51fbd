import { describe, expect, it } from 'vitest';
import type { Licence, Report, ShipmentReport } from '../../../src/domain/events.ts';
import { HOUR_MS } from '../../../src/domain/time.ts';
import { severityFor, severityBands } from '../../../src/rules/severity.ts';
import { unlicensedClient, unlicensedClientParams } from '../../../src/rules/unlicensed-client.ts';
import { D0, at, licence, reports, ruleInput, shipment } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const asReport = (event: ShipmentReport): Report => ({ kind: 'shipments', event });

function evaluate(report: Report, lic: Licence | null, params: Record<string, unknown> = {}) {
  return unlicensedClient.evaluate(ruleInput(report, { licence: lic }), () => unlicensedClientParams.parse(params));
}
const reasonsOf = (report: Report, lic: Licence | null, params: Record<string, unknown> = {}): string[] =>
  evaluate(report, lic, params).flatMap((d) => d.evidence.reasons!.split(','));

describe('unlicensed-client parameters', () => {
  it('defaults to no validity tolerance and no exempt materials', () => {
    expect(unlicensedClientParams.parse({})).toEqual({ validityToleranceHours: 0, exemptMaterials: [] });
  });

  it.each([
    ['a negative validity tolerance', { validityToleranceHours: -1 }, 'validityToleranceHours'],
    ['a validity tolerance over 31 days', { validityToleranceHours: 24 * 31 + 1 }, 'validityToleranceHours'],
    ['a validity tolerance given as text', { validityToleranceHours: '2' }, 'validityToleranceHours'],
    ['exempt materials given as one string', { exemptMaterials: 'DY_OXIDE' }, 'exemptMaterials'],
  ])('rejects %s', (_, raw, field) => {
    const result = unlicensedClientParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('unlicensed-client reasons', () => {
  it('finds nothing for an export under a licence that fits', () => {
    expect(evaluate(reports.shipments(), licence())).toEqual([]);
  });

  it.each<[string, Partial<ShipmentReport>, Licence | null, string[]]>([
    ['no licence named', { licenceId: null }, null, ['no-licence']],
    ['no licence field at all', { licenceId: undefined }, null, ['no-licence']],
    ['a licence that does not exist', { licenceId: 'LIC-404' }, null, ['unknown-licence']],
    ["another exporter's licence", {}, licence({ exporterId: 'P9' }), ['other-exporter']],
    ['a licence for another client', {}, licence({ clientId: 'C9' }), ['other-client']],
    ['a licence that does not cover the material', { material: 'TB_OXIDE' }, licence(), ['material-not-covered']],
    ['a licence not yet valid', { occurredAt: at(D0 - 31) }, licence(), ['not-yet-valid']],
    ['an expired licence', { occurredAt: at(D0 + 336) }, licence(), ['expired']],
    ['a suspended licence', {}, licence({ status: 'SUSPENDED' }), ['suspended']],
    ['a revoked licence', {}, licence({ status: 'REVOKED' }), ['revoked']],
  ])('flags an export under %s', (_, shipmentOverrides, lic, reasons) => {
    expect(reasonsOf(reports.shipments(shipmentOverrides), lic)).toEqual(reasons);
  });

  it('lists every way the licence fails, not just the first', () => {
    const lic = licence({ exporterId: 'P9', clientId: 'C9', materials: ['SMCO_MAGNET'], status: 'REVOKED' });
    const report = reports.shipments({ occurredAt: at(D0 + 400) });
    expect(reasonsOf(report, lic)).toEqual(['other-exporter', 'other-client', 'material-not-covered', 'expired', 'revoked']);
  });

  it('treats a material missing from the catalogue as controlled, so inventing a code does not escape the check', () => {
    expect(reasonsOf(reports.shipments({ material: 'MYSTERY_POWDER', licenceId: null }), null)).toEqual(['no-licence']);
  });
});

describe('unlicensed-client never alerts on what needs no licence', () => {
  it.each(['NDFEB_MAGNET', 'NDPR_OXIDE', 'NDPR_METAL', 'NDFEB_ALLOY', 'REE_CONCENTRATE'])(
    'an export of uncontrolled %s with no licence',
    (material) => {
      expect(evaluate(reports.shipments({ material, licenceId: null }), null)).toEqual([]);
    },
  );

  it('a domestic transfer of controlled material with no licence', () => {
    expect(evaluate(reports.shipments({ direction: 'DOMESTIC', clientId: 'P2', licenceId: null }), null)).toEqual([]);
  });

  it('a controlled material the operators exempted', () => {
    const report = reports.shipments({ material: 'DY_OXIDE', licenceId: null });
    expect(evaluate(report, null, { exemptMaterials: ['DY_OXIDE'] })).toEqual([]);
    expect(evaluate(report, null, { exemptMaterials: ['TB_OXIDE'] })).toHaveLength(1);
  });

  it.each([reports.production(), reports.receipts(), reports.inventory()])('a $kind report', (report) => {
    expect(evaluate(report, null)).toEqual([]);
  });
});

describe('unlicensed-client validity tolerance', () => {
  const lic = licence({ validFrom: at(D0 - 30, 0), validTo: at(D0 + 30, 0) });
  const twoHours = { validityToleranceHours: 2 };

  it.each<[string, number, Record<string, unknown>, string[]]>([
    ['just before validFrom, no tolerance', lic.validFrom - 1, {}, ['not-yet-valid']],
    ['at validFrom, no tolerance', lic.validFrom, {}, []],
    ['at validTo, no tolerance', lic.validTo, {}, []],
    ['just after validTo, no tolerance', lic.validTo + 1, {}, ['expired']],
    ['just inside the tolerance before validFrom', lic.validFrom - 2 * HOUR_MS + 1, twoHours, []],
    ['at the tolerance before validFrom', lic.validFrom - 2 * HOUR_MS, twoHours, []],
    ['just beyond the tolerance before validFrom', lic.validFrom - 2 * HOUR_MS - 1, twoHours, ['not-yet-valid']],
    ['just inside the tolerance after validTo', lic.validTo + 2 * HOUR_MS - 1, twoHours, []],
    ['at the tolerance after validTo', lic.validTo + 2 * HOUR_MS, twoHours, []],
    ['just beyond the tolerance after validTo', lic.validTo + 2 * HOUR_MS + 1, twoHours, ['expired']],
  ])('%s', (_, occurredAt, params, reasons) => {
    expect(reasonsOf(reports.shipments({ occurredAt }), lic, params)).toEqual(reasons);
  });
});

describe('unlicensed-client finding', () => {
  it('names the shipment, the client, the licence and what is wrong with it', () => {
    const event = shipment({ reportId: 'ship-77', shipmentId: 'SHP-77', quantityKg: 2500, destinationCountry: 'IN', occurredAt: at(D0 + 400) });
    const lic = licence({ status: 'SUSPENDED', effectiveAt: at(D0 + 100, 0) });
    const [draft] = evaluate(asReport(event), lic);
    expect(draft).toMatchObject({
      producerId: 'P1',
      clientId: 'C1',
      licenceId: 'LIC-1',
      subjectEventIds: ['ship-77'],
      eventTime: event.occurredAt,
    });
    expect(draft!.evidence).toEqual({
      reasons: 'expired,suspended',
      material: 'NDFEB_DY_MAGNET',
      quantityKg: '2500',
      clientId: 'C1',
      clientName: 'Client One GmbH',
      destinationCountry: 'IN',
      licenceId: 'LIC-1',
      shipmentId: 'SHP-77',
      shippedAt: new Date(event.occurredAt).toISOString(),
      licenceExporterId: 'P1',
      licenceClientId: 'C1',
      licenceMaterials: 'NDFEB_DY_MAGNET',
      licenceValidFrom: new Date(lic.validFrom).toISOString(),
      licenceValidTo: new Date(lic.validTo).toISOString(),
      licenceStatus: 'SUSPENDED',
      licenceStatusSince: new Date(at(D0 + 100, 0)).toISOString(),
    });
    expect(draft!.summary).toBe(
      'P1 exported 2.5 t of controlled NDFEB_DY_MAGNET to Client One GmbH (IN) under an expired licence, under a suspended licence.',
    );
    expectOneSentence(draft!.summary);
  });

  it('says "none" for the licence when the exporter named none', () => {
    const [draft] = evaluate(reports.shipments({ licenceId: null }), null);
    expect(draft).toMatchObject({ licenceId: null });
    expect(draft!.evidence.licenceId).toBe('none');
    expect(draft!.evidence).not.toHaveProperty('licenceStatus');
    expectOneSentence(draft!.summary);
  });

  it('is one finding per shipment, whatever report of it arrives', () => {
    const a = evaluate(reports.shipments({ shipmentId: 'SHP-1', licenceId: null }), null)[0]!;
    const b = evaluate(reports.shipments({ shipmentId: 'SHP-1', licenceId: null }), null)[0]!;
    const c = evaluate(reports.shipments({ shipmentId: 'SHP-2', licenceId: null }), null)[0]!;
    expect(a.findingKey).toBe(b.findingKey);
    expect(c.findingKey).not.toBe(a.findingKey);
  });

  // Default bands (MEDIUM 0.3, HIGH 0.6, CRITICAL 0.85): what an enforcement team sees first.
  it.each<[string, Partial<ShipmentReport>, Licence | null, string]>([
    ['no licence', { licenceId: null }, null, 'CRITICAL'],
    ['a revoked licence', {}, licence({ status: 'REVOKED' }), 'CRITICAL'],
    ['a suspended licence', {}, licence({ status: 'SUSPENDED' }), 'HIGH'],
    ['an expired licence', { occurredAt: at(D0 + 336) }, licence(), 'HIGH'],
  ])('rates an export under %s %s', (_, o, lic, severity) => {
    const [draft] = evaluate(reports.shipments(o), lic);
    expect(severityFor(draft!.score, severityBands.parse({}), draft!.severityFloor)).toBe(severity);
  });

  it('never rates a missing or revoked licence under HIGH, however the bands are tuned', () => {
    const lenient = severityBands.parse({ MEDIUM: 0.99, HIGH: 1, CRITICAL: 1 });
    for (const [o, lic] of [[{ licenceId: null }, null], [{}, licence({ status: 'REVOKED' })]] as const) {
      const [draft] = evaluate(reports.shipments(o), lic);
      expect(draft!.severityFloor).toBe('HIGH');
      expect(severityFor(draft!.score, lenient, draft!.severityFloor)).toBe('HIGH');
    }
    const [expired] = evaluate(reports.shipments({ occurredAt: at(D0 + 336) }), licence());
    expect(severityFor(expired!.score, lenient, expired!.severityFloor)).toBe('LOW');
  });
});
