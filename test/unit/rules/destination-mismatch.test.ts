import { describe, expect, it } from 'vitest';
import type { Licence, ShipmentReport } from '../../../src/domain/events.ts';
import { DEFAULT_TRANSSHIPMENT_HUBS, destinationMismatch, destinationMismatchParams } from '../../../src/rules/destination-mismatch.ts';
import { licence, paramsFrom, reports, ruleInput } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const evaluate = (o: Partial<ShipmentReport>, lic: Licence | null = licence(), params: Record<string, unknown> = {}) =>
  destinationMismatch.evaluate(ruleInput(reports.shipments(o), { licence: lic }), paramsFrom(destinationMismatchParams, params));

describe('destination-mismatch parameters', () => {
  it('defaults the hub list to the US guidance and FinCEN/BIS countries', () => {
    expect(destinationMismatchParams.parse({}).transshipmentHubs).toEqual(DEFAULT_TRANSSHIPMENT_HUBS);
    expect(DEFAULT_TRANSSHIPMENT_HUBS).toEqual(expect.arrayContaining(['HK', 'SG', 'AE']));
  });

  it.each([
    ['a hub that is no country code', { transshipmentHubs: ['Dubai'] }, 'transshipmentHubs'],
    ['hubs given as one string', { transshipmentHubs: 'AE' }, 'transshipmentHubs'],
    ['a hub bonus above 1', { hubBonus: 1.5 }, 'hubBonus'],
  ])('rejects %s', (_, raw, field) => {
    const result = destinationMismatchParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('destination-mismatch', () => {
  it.each<[string, Partial<ShipmentReport>, Licence | null]>([
    ["an export to the client's country, which is the licence's", {}, licence()],
    ['an uncontrolled export to the client’s country', { licenceId: null, material: 'NDFEB_MAGNET' }, null],
    ['a domestic transfer', { direction: 'DOMESTIC', clientCountry: 'CN', destinationCountry: 'CN' }, null],
    ["another client's licence (unlicensed-client's finding)", { destinationCountry: 'DE' }, licence({ clientId: 'C9', endUserCountry: 'OM' })],
  ])('finds nothing for %s', (_, o, lic) => {
    expect(evaluate(o, lic)).toEqual([]);
  });

  // Licence for Oman, goods to India (RULE-EVIDENCE.md); India is on the FinCEN/BIS list.
  const uncontrolled = { licenceId: null, material: 'NDFEB_MAGNET' };
  it.each<[string, Partial<ShipmentReport>, Licence | null, string, string, number]>([
    ['licence country only', { clientCountry: 'IN', destinationCountry: 'IN' }, licence({ endUserCountry: 'OM' }), 'licence-end-user-country', 'true', 0.9],
    ['licence country, not a hub', { clientCountry: 'BR', destinationCountry: 'BR' }, licence({ endUserCountry: 'OM' }), 'licence-end-user-country', 'false', 0.6],
    ['client country only, not a hub', { ...uncontrolled, destinationCountry: 'PL' }, null, 'client-country', 'false', 0.45],
    ['client country, through a hub', { ...uncontrolled, destinationCountry: 'AE' }, null, 'client-country', 'true', 0.75],
    ['both, not a hub', { destinationCountry: 'PL' }, licence(), 'licence-end-user-country,client-country', 'false', 0.7],
    ['both, through a hub', { destinationCountry: 'HK' }, licence(), 'licence-end-user-country,client-country', 'true', 1],
  ])('flags %s', (_, o, lic, reasons, hub, score) => {
    const [draft] = evaluate(o, lic);
    expect(draft!.evidence.reasons).toBe(reasons);
    expect(draft!.evidence.transshipmentHub).toBe(hub);
    expect(draft!.score).toBeCloseTo(score, 6);
    expectOneSentence(draft!.summary);
  });

  it('scores a hub with the configured bonus and list', () => {
    const [draft] = evaluate({ licenceId: null, material: 'NDFEB_MAGNET', destinationCountry: 'PL' }, null, { transshipmentHubs: ['PL'], hubBonus: 0.1 });
    expect(draft!.score).toBeCloseTo(0.55, 6);
    expect(draft!.evidence.transshipmentHubs).toBe('PL');
  });

  it('names the licence, the countries and the shipment', () => {
    const [draft] = evaluate({ reportId: 'ship-5', shipmentId: 'SHP-5', clientCountry: 'OM', destinationCountry: 'IN', quantityKg: 250 }, licence({ endUserCountry: 'OM' }));
    expect(draft).toMatchObject({ findingKey: 'P1|SHP-5', subjectEventIds: ['ship-5'], licenceId: 'LIC-1', clientId: 'C1' });
    expect(draft!.evidence).toMatchObject({ destinationCountry: 'IN', clientCountry: 'OM', licenceEndUserCountry: 'OM', quantityKg: '250' });
    expect(draft!.summary).toBe('P1 sent 250 kg of NDFEB_DY_MAGNET for Client One GmbH (OM) to IN, a transshipment hub, instead of OM named by licence LIC-1.');
  });
});
