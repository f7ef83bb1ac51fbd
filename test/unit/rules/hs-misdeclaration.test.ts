import { describe, expect, it } from 'vitest';
import type { Report, ShipmentReport } from '../../../src/domain/events.ts';
import { hsMisdeclaration, hsMisdeclarationParams } from '../../../src/rules/hs-misdeclaration.ts';
import { severityBands, severityFor } from '../../../src/rules/severity.ts';
import { paramsFrom, reports, ruleInput, shipment } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const evaluate = (report: Report, params: Record<string, unknown> = {}) => hsMisdeclaration.evaluate(ruleInput(report), paramsFrom(hsMisdeclarationParams, params));
const severityOf = (o: Partial<ShipmentReport>) => {
  const [draft] = evaluate(reports.shipments(o));
  return severityFor(draft!.score, severityBands.parse(hsMisdeclaration.bands), draft!.severityFloor);
};

describe('hs-misdeclaration parameters', () => {
  it('defaults the four scores', () => {
    expect(hsMisdeclarationParams.parse({})).toEqual({ unknownCodeScore: 0.5, otherMaterialScore: 0.65, controlledAsUncontrolledScore: 0.9, unspecificHeadingScore: 0.85 });
  });

  it.each([
    ['a score above 1', { controlledAsUncontrolledScore: 1.1 }, 'controlledAsUncontrolledScore'],
    ['a negative score', { unknownCodeScore: -0.1 }, 'unknownCodeScore'],
    ['a score given as text', { otherMaterialScore: '0.5' }, 'otherMaterialScore'],
  ])('rejects %s', (_, raw, field) => {
    const result = hsMisdeclarationParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('hs-misdeclaration', () => {
  it.each<[string, Partial<ShipmentReport>]>([
    ["the material's own 10-digit code", { material: 'NDFEB_DY_MAGNET', hsCode: '8505111000' }],
    ['an uncontrolled magnet under its own code', { material: 'NDFEB_MAGNET', hsCode: '8505119000' }],
    ['Dy oxide under its own code', { material: 'DY_OXIDE', hsCode: '2846901500' }],
    // China's 10-digit metal codes (RULE-EVIDENCE.md): Nd 2805301100, Dy 2805301200, Tb 2805301300.
    ['Dy metal under its own code (2805301200)', { material: 'DY_METAL', hsCode: '2805301200' }],
    ['Tb metal under its own code (2805301300)', { material: 'TB_METAL', hsCode: '2805301300' }],
    ['a material the catalogue does not know', { material: 'MYSTERY_POWDER', hsCode: '7504001000' }],
  ])('finds nothing for %s', (_, o) => {
    expect(evaluate(reports.shipments(o))).toEqual([]);
  });

  it.each<[string, Partial<ShipmentReport>, string, string]>([
    ['Dy-NdFeB declared as plain magnets (8505119000)', { material: 'NDFEB_DY_MAGNET', hsCode: '8505119000' }, 'permanent magnets other than rare-earth (uncontrolled NdFeB)', 'CRITICAL'],
    ['Dy oxide declared as nickel powder (7504)', { material: 'DY_OXIDE', hsCode: '7504001000' }, 'nickel powders and flakes', 'CRITICAL'],
    ['Tb metal declared as nickel powder at heading level', { material: 'TB_METAL', hsCode: '750400' }, 'nickel powders and flakes', 'CRITICAL'],
    ['Dy oxide under the Tb oxide code', { material: 'DY_OXIDE', hsCode: '2846901600' }, 'TB_OXIDE', 'HIGH'],
    ['Dy metal declared as neodymium metal (2805301100)', { material: 'DY_METAL', hsCode: '2805301100' }, 'neodymium metal (uncontrolled; Dy 2805301200 and Tb 2805301300 are its neighbours)', 'CRITICAL'],
    ['Tb metal under the Dy metal code', { material: 'TB_METAL', hsCode: '2805301200' }, 'DY_METAL', 'HIGH'],
    ['plain magnets under the Dy-NdFeB code', { material: 'NDFEB_MAGNET', hsCode: '8505111000' }, 'NDFEB_DY_MAGNET', 'HIGH'],
    ['plain magnets as nickel powder', { material: 'NDFEB_MAGNET', hsCode: '7504001000' }, 'nickel powders and flakes', 'HIGH'],
    ['NdPr oxide under a code nobody uses', { material: 'NDPR_OXIDE', hsCode: '9999999999' }, 'unknown code', 'MEDIUM'],
  ])('flags %s', (_, o, declaredAs, severity) => {
    const [draft] = evaluate(reports.shipments(o));
    expect(draft!.evidence.declaredAs).toBe(declaredAs);
    expect(severityOf(o)).toBe(severity);
    expectOneSentence(draft!.summary);
  });

  it('says controlled NdFeB with Dy/Tb went out as uncontrolled magnets, with every number', () => {
    const event = shipment({ reportId: 'ship-9', shipmentId: 'SHP-9', material: 'NDFEB_DY_MAGNET', hsCode: '8505119000', quantityKg: 4000 });
    const [draft] = evaluate({ kind: 'shipments', event });
    expect(draft).toMatchObject({ producerId: 'P1', clientId: 'C1', licenceId: 'LIC-1', subjectEventIds: ['ship-9'], findingKey: 'P1|SHP-9', severityFloor: 'HIGH' });
    expect(draft!.evidence).toMatchObject({
      declaredHsCode: '8505119000',
      expectedHsCodes: '8505111000',
      declaredAsMaterial: 'NDFEB_MAGNET',
      declaredAsControlled: 'false',
      materialControlled: 'true',
      controlledElements: 'Dy,Tb',
      quantityKg: '4000',
    });
    expect(draft!.summary).toBe(
      'P1 shipped 4 t of controlled NDFEB_DY_MAGNET (Dy/Tb) to Client One GmbH (DE) declared under HS 8505119000, the code of uncontrolled permanent magnets other than rare-earth (uncontrolled NdFeB), not one of 8505111000.',
    );
  });

  it('ignores reports that are not shipments', () => {
    expect(evaluate(reports.production())).toEqual([]);
  });
});

describe('hs-misdeclaration: a shorter heading of the own code', () => {
  // 850511 covers 8505111000 (Dy-NdFeB, SmCo: controlled) and 8505119000 (plain NdFeB and the
  // uncontrolled look-alike); 85051110 covers only the controlled 8505111000.
  it.each<[string, Partial<ShipmentReport>, string | null]>([
    ['Dy-NdFeB under its own 10-digit code', { material: 'NDFEB_DY_MAGNET', hsCode: '8505111000' }, null],
    ['Dy-NdFeB under 8-digit 85051110 (controlled codes only)', { material: 'NDFEB_DY_MAGNET', hsCode: '85051110' }, null],
    ['SmCo under 8-digit 85051110 (controlled codes only)', { material: 'SMCO_MAGNET', hsCode: '85051110' }, null],
    ['plain NdFeB under 8-digit 85051190 (uncontrolled codes only)', { material: 'NDFEB_MAGNET', hsCode: '85051190' }, null],
    ['Dy oxide under 8-digit 28469015 (its code only)', { material: 'DY_OXIDE', hsCode: '28469015' }, null],
    ['Dy-NdFeB under 6-digit 850511 (covers uncontrolled 8505119000 too)', { material: 'NDFEB_DY_MAGNET', hsCode: '850511' }, 'CRITICAL'],
    ['SmCo under 6-digit 850511', { material: 'SMCO_MAGNET', hsCode: '850511' }, 'CRITICAL'],
    ['Dy oxide under 6-digit 284690 (covers uncontrolled NdPr oxide too)', { material: 'DY_OXIDE', hsCode: '284690' }, 'CRITICAL'],
    ['plain NdFeB under 6-digit 850511 (covers controlled codes; hides nothing from the licence check)', { material: 'NDFEB_MAGNET', hsCode: '850511' }, 'MEDIUM'],
  ])('%s', (_, o, severity) => {
    const drafts = evaluate(reports.shipments(o));
    expect(drafts).toHaveLength(severity ? 1 : 0);
    if (severity) {
      expect(severityOf(o)).toBe(severity);
      expectOneSentence(drafts[0]!.summary);
    }
  });

  it('says which codes the heading covers', () => {
    const event = shipment({ reportId: 'ship-8', shipmentId: 'SHP-8', material: 'NDFEB_DY_MAGNET', hsCode: '850511', quantityKg: 4000 });
    const [draft] = evaluate({ kind: 'shipments', event });
    expect(draft).toMatchObject({ score: 0.85, severityFloor: 'HIGH', subjectEventIds: ['ship-8'] });
    expect(draft!.evidence).toMatchObject({
      declaredHsCode: '850511',
      expectedHsCodes: '8505111000',
      declaredAs: 'a heading covering both controlled and uncontrolled goods',
      headingCovers:
        '8505119000 NDFEB_MAGNET (uncontrolled); 8505111000 NDFEB_DY_MAGNET (controlled); 8505111000 SMCO_MAGNET (controlled); 8505119000 permanent magnets other than rare-earth (uncontrolled NdFeB) (uncontrolled)',
      materialControlled: 'true',
    });
    expect(draft!.summary).toContain('declared under HS 850511, a heading that covers 8505119000 NDFEB_MAGNET (uncontrolled);');
  });
});
