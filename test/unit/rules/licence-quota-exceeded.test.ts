import { describe, expect, it } from 'vitest';
import { countsAgainstQuota } from '../../../src/domain/licence-fit.ts';
import type { Licence, Report, ShipmentReport } from '../../../src/domain/events.ts';
import { licenceQuotaExceeded, licenceQuotaParams } from '../../../src/rules/licence-quota-exceeded.ts';
import { severityBands, severityFor } from '../../../src/rules/severity.ts';
import { applyResult, licence, reports, ruleInput, shipment } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

/** The rule sees what the store counted: kg used under the licence before and after this shipment. */
function evaluate(
  usedBeforeKg: number | undefined,
  usedAfterKg: number | undefined,
  o: { lic?: Licence | null; params?: Record<string, unknown>; report?: Report } = {},
) {
  const report = o.report ?? reports.shipments({ quantityKg: (usedAfterKg ?? 0) - (usedBeforeKg ?? 0) || 1 });
  const result = applyResult({ reportId: report.event.reportId, licenceUsedBeforeKg: usedBeforeKg, licenceUsedAfterKg: usedAfterKg });
  const lic = o.lic === undefined ? licence({ quotaKg: 1000 }) : o.lic;
  return licenceQuotaExceeded.evaluate(ruleInput(report, { result, licence: lic }), () => licenceQuotaParams.parse(o.params ?? {}));
}

describe('licence-quota-exceeded parameters', () => {
  it('defaults to no tolerance over the quota', () => {
    expect(licenceQuotaParams.parse({})).toEqual({ tolerancePct: 0 });
  });

  it.each([
    ['a negative tolerance', { tolerancePct: -1 }],
    ['a tolerance over 100 %', { tolerancePct: 100.5 }],
    ['a tolerance given as text', { tolerancePct: '5' }],
  ])('rejects %s', (_, raw) => {
    const result = licenceQuotaParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path).toEqual(['tolerancePct']);
  });
});

describe('licence-quota-exceeded thresholds', () => {
  it.each([
    ['just below the quota', 999.999, 0, false],
    ['at the quota', 1000, 0, false],
    ['just above the quota', 1000.001, 0, true],
    ['just below the quota plus 5 %', 1049.999, 5, false],
    ['at the quota plus 5 %', 1050, 5, false],
    ['just above the quota plus 5 %', 1050.001, 5, true],
  ])('%s (%f kg used, tolerance %f percent)', (_, usedAfter, tolerancePct, fires) => {
    expect(evaluate(900, usedAfter, { params: { tolerancePct } })).toHaveLength(fires ? 1 : 0);
  });

  // 100 kg * 1.15 is 114.99999999999999 in floating point; usage is counted to the gram, so must the
  // limit be, or exporting exactly the allowed 115 kg would be a finding.
  it.each([
    ['at a limit that is not exact in floating point', 115, false],
    ['just above it', 115.001, true],
  ])('%s (100 kg quota, 15 percent tolerance)', (_, usedAfter, fires) => {
    const drafts = evaluate(50, usedAfter, { lic: licence({ quotaKg: 100 }), params: { tolerancePct: 15 } });
    expect(drafts).toHaveLength(fires ? 1 : 0);
  });
});

describe('licence-quota-exceeded finding', () => {
  it('names the quota, the usage before and after, the overrun and the tolerance', () => {
    const event = shipment({ reportId: 'ship-9', shipmentId: 'SHP-9', quantityKg: 300 });
    const lic = licence({ licenceId: 'LIC-7', quotaKg: 1000 });
    const [draft] = evaluate(900, 1200, { lic, report: { kind: 'shipments', event } });
    expect(draft).toMatchObject({
      findingKey: 'LIC-7',
      producerId: 'P1',
      clientId: 'C1',
      licenceId: 'LIC-7',
      subjectEventIds: ['ship-9'],
      eventTime: event.occurredAt,
      windowStart: lic.validFrom,
      windowEnd: lic.validTo,
    });
    expect(draft!.evidence).toEqual({
      check: 'crossing',
      quotaKg: '1000',
      usedBeforeKg: '900',
      shipmentKg: '300',
      usedAfterKg: '1200',
      overKg: '200',
      overPct: '20%',
      tolerancePct: '0',
      material: 'NDFEB_DY_MAGNET',
      shipmentId: 'SHP-9',
      shippedAt: new Date(event.occurredAt).toISOString(),
    });
    expect(draft!.summary).toBe('P1 has exported 1.2 t under licence LIC-7, 200 kg over its quota of 1 t.');
    expectOneSentence(draft!.summary);
  });

  it('is one finding per licence for the shipment that crosses its quota, whichever it is', () => {
    const one = evaluate(900, 1200, { report: reports.shipments({ shipmentId: 'SHP-A', quantityKg: 300 }) })[0]!;
    const other = evaluate(999, 1001, { report: reports.shipments({ shipmentId: 'SHP-B', quantityKg: 2 }) })[0]!;
    expect(other.findingKey).toBe(one.findingKey);
  });

  it('makes every export under a licence whose quota was already used up a finding of its own, however small the first overrun', () => {
    const event = shipment({ reportId: 'ship-20t', shipmentId: 'SHP-20T', quantityKg: 20_000 });
    const [draft] = evaluate(1010, 21_010, { report: { kind: 'shipments', event } });
    expect(draft).toMatchObject({ findingKey: 'LIC-1|SHP-20T', subjectEventIds: ['ship-20t'], score: 1 });
    expect(draft!.evidence).toMatchObject({ check: 'export-after-quota-used-up', usedBeforeKg: '1010', shipmentKg: '20000' });
    expect(draft!.summary).toBe('P1 exported 20 t under licence LIC-1 after its quota of 1 t was used up, 20.01 t over it in all.');
    expectOneSentence(draft!.summary);
    expect(evaluate(1200, 1500)[0]!.findingKey).not.toBe(evaluate(900, 1200)[0]!.findingKey);
  });

  // Score 0.5 + overrun share: any overrun is at least MEDIUM; half the quota over is as bad as it gets.
  it.each([
    [1000.001, 'MEDIUM'],
    [1100, 'HIGH'],
    [1349, 'HIGH'],
    [1350, 'CRITICAL'],
    [5000, 'CRITICAL'],
  ])('rates %f kg under a 1000 kg quota %s', (usedAfter, severity) => {
    const [draft] = evaluate(1000, usedAfter);
    expect(draft!.score).toBeLessThanOrEqual(1);
    expect(severityFor(draft!.score, severityBands.parse({}), draft!.severityFloor)).toBe(severity);
  });

  it('finds nothing when the store counted nothing against the licence', () => {
    expect(evaluate(undefined, undefined)).toEqual([]);
  });

  it('finds nothing without a licence, or for a report that is not a shipment', () => {
    expect(evaluate(900, 1200, { lic: null })).toEqual([]);
    expect(evaluate(900, 1200, { report: reports.production() })).toEqual([]);
  });
});

describe('what counts against a quota', () => {
  it.each<[string, Partial<ShipmentReport>, Partial<Licence>, boolean]>([
    ["the holder's export of covered goods to the named client", {}, {}, true],
    ["another exporter's shipment", { producerId: 'P9' }, {}, false],
    ['a shipment to another client', { clientId: 'C9' }, {}, false],
    ['goods the licence does not cover', { material: 'TB_OXIDE' }, {}, false],
    // Validity and status are unlicensed-client's findings; the goods still left under this licence.
    ['an export after the licence expired', {}, { validTo: 0, validFrom: 0 }, true],
    ['an export under a suspended licence', {}, { status: 'SUSPENDED' }, true],
  ])('%s: %s', (_, s, l, counts) => {
    expect(countsAgainstQuota(licence(l), shipment(s))).toBe(counts);
  });
});
