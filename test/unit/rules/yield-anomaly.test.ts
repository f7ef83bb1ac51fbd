import { describe, expect, it } from 'vitest';
import type { ProductionReport } from '../../../src/domain/events.ts';
import { judgeYield, yieldAllowance, yieldAnomaly, yieldAnomalyParams } from '../../../src/rules/yield-anomaly.ts';
import { paramsFrom, production, reports, ruleInput, testCatalogue } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const evaluate = (o: Partial<ProductionReport>, params: Record<string, unknown> = {}) =>
  yieldAnomaly.evaluate(ruleInput(reports.production(o)), paramsFrom(yieldAnomalyParams, params));
const metal = (kgOut: number, kgOxide: number): Partial<ProductionReport> => ({ stage: 'METAL', material: 'NDPR_METAL', quantityKg: kgOut, inputs: [{ material: 'NDPR_OXIDE', quantityKg: kgOxide }] });

describe('yield-anomaly parameters', () => {
  it('defaults to a 3 % tolerance', () => {
    expect(yieldAnomalyParams.parse({})).toEqual({ tolerancePct: 3, noInputScore: 0.85 });
  });

  it.each([
    ['a negative tolerance', { tolerancePct: -1 }, 'tolerancePct'],
    ['a tolerance over 100 %', { tolerancePct: 101 }, 'tolerancePct'],
    ['a score above 1', { noInputScore: 2 }, 'noInputScore'],
  ])('rejects %s', (_, raw, field) => {
    const result = yieldAnomalyParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('yield-anomaly: above the maximum yield', () => {
  // 1000 kg NdPr oxide make at most 857 kg metal; with 3 % tolerance the limit is 882.71 kg.
  it.each<[string, number, boolean]>([
    ['the sim’s leanest oxide ratio (1.16 kg/kg)', 862, false],
    ['just under the limit', 882.7, false],
    ['at the limit', 882.71, false],
    ['just over the limit', 882.72, true],
    ['twice what the oxide allows', 1714, true],
  ])('metal from 1000 kg oxide: %s', (_, out, fires) => {
    expect(evaluate(metal(out, 1000))).toHaveLength(fires ? 1 : 0);
  });

  it.each<[string, Partial<ProductionReport>, boolean]>([
    ['alloy at 30 % rare earth', { stage: 'ALLOY', material: 'NDFEB_ALLOY', quantityKg: 1000, inputs: [{ material: 'NDPR_METAL', quantityKg: 300 }] }, false],
    ['alloy at 20 % rare earth', { stage: 'ALLOY', material: 'NDFEB_ALLOY', quantityKg: 1000, inputs: [{ material: 'NDPR_METAL', quantityKg: 200 }] }, true],
    ['magnets from 1.15 kg alloy each', { quantityKg: 1000, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 1150 }] }, false],
    ['more magnet than alloy', { quantityKg: 1000, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 900 }] }, true],
    ['Dy magnets from alloy and Dy metal', { quantityKg: 1000, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 960 }, { material: 'DY_METAL', quantityKg: 40 }] }, false],
    ['oxide from concentrate at 20 %', { stage: 'SEPARATION', material: 'DY_OXIDE', quantityKg: 20, inputs: [{ material: 'REE_CONCENTRATE', quantityKg: 100 }] }, false],
    ['oxide from concentrate at 90 %', { stage: 'SEPARATION', material: 'DY_OXIDE', quantityKg: 90, inputs: [{ material: 'REE_CONCENTRATE', quantityKg: 100 }] }, true],
  ])('%s', (_, o, fires) => {
    expect(evaluate(o)).toHaveLength(fires ? 1 : 0);
  });

  it('names inputs, yields, limit and excess', () => {
    const [draft] = evaluate({ ...metal(1714, 1000), reportId: 'prod-1' });
    expect(draft).toMatchObject({ findingKey: 'P1|prod-1', subjectEventIds: ['prod-1'], producerId: 'P1' });
    expect(draft!.evidence).toMatchObject({ check: 'above-max-yield', outputKg: '1714', inputs: 'NDPR_OXIDE 1000 kg x 0.857', maxOutputKg: '857', limitKg: '882.71', excessKg: '857', outputOverMax: '200%', tolerancePct: '3' });
    expect(draft!.score).toBe(1);
    expect(draft!.summary).toBe('P1 reported 1.71 t of NDPR_METAL from inputs that make at most 857 kg (NDPR_OXIDE 1000 kg x 0.857), 100 % more than they allow.');
    expectOneSentence(draft!.summary);
  });

  it('widens with the tolerance', () => {
    expect(evaluate(metal(940, 1000), { tolerancePct: 10 })).toHaveLength(0);
    expect(evaluate(metal(943, 1000), { tolerancePct: 10 })).toHaveLength(1);
  });
});

describe('yield-anomaly: no rare-earth input', () => {
  it.each<[string, Partial<ProductionReport>, string | null]>([
    ['magnets from nothing', { stage: 'MAGNET', material: 'NDFEB_MAGNET', inputs: [] }, 'no-rare-earth-input'],
    ['metal from nothing', { stage: 'METAL', material: 'DY_METAL', inputs: [] }, 'no-rare-earth-input'],
    ['magnets from iron only (not a rare earth)', { stage: 'MAGNET', material: 'NDFEB_MAGNET', inputs: [{ material: 'IRON', quantityKg: 5000 }] }, 'no-rare-earth-input'],
    ['mined concentrate (no conversion into it)', { stage: 'MINING', material: 'REE_CONCENTRATE', inputs: [] }, null],
    ['SmCo magnets (Sm and Co are not tracked)', { stage: 'MAGNET', material: 'SMCO_MAGNET', inputs: [] }, null],
    ['recycled magnets (no stage input needed)', { stage: 'RECYCLING', material: 'NDFEB_MAGNET', inputs: [] }, null],
  ])('%s', (_, o, check) => {
    const drafts = evaluate(o);
    expect(drafts.map((d) => d.evidence.check)).toEqual(check ? [check] : []);
    for (const d of drafts) expectOneSentence(d.summary);
  });
});

describe('yield-anomaly: runs the catalogue cannot bound are not judged', () => {
  const magnetScrap = { material: 'NDFEB_MAGNET', quantityKg: 1000 };
  it.each<[string, Partial<ProductionReport>, string]>([
    ['NdPr oxide recycled from magnet scrap', { stage: 'RECYCLING', material: 'NDPR_OXIDE', quantityKg: 250, inputs: [magnetScrap] }, 'recycling'],
    ['magnets remade from magnet scrap', { stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 900, inputs: [magnetScrap] }, 'recycling'],
    ['recycled metal above any primary yield', { stage: 'RECYCLING', material: 'NDPR_METAL', quantityKg: 5000, inputs: [magnetScrap] }, 'recycling'],
    ['NdPr metal from NdPr oxide plus Dy oxide (Dy oxide leads to no NdPr metal, directly or in a chain)', { stage: 'METAL', material: 'NDPR_METAL', quantityKg: 10_000, inputs: [{ material: 'NDPR_OXIDE', quantityKg: 10 }, { material: 'DY_OXIDE', quantityKg: 1 }] }, 'input-without-conversion'],
  ])('%s', (_, o, reason) => {
    expect(judgeYield(production(o), testCatalogue())).toEqual({ judged: false, reason });
    expect(evaluate(o)).toEqual([]);
  });
});

describe('yield-anomaly: inputs bounded through a chain of conversions', () => {
  it('judges a run whose token input converts only through a chain: 10 t of magnet from 100 kg of alloy and 1 kg of concentrate', () => {
    // Concentrate → Dy or Tb oxide 0.7 → metal 0.871 (Dy, the best) → alloy 3.45 → magnet 1: 2.1035 kg per kg.
    const o: Partial<ProductionReport> = { stage: 'MAGNET', material: 'NDFEB_MAGNET', quantityKg: 10_000, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 100 }, { material: 'REE_CONCENTRATE', quantityKg: 1 }] };
    const judgement = judgeYield(production(o), testCatalogue());
    expect(judgement.judged && judgement.allowedKg).toBeCloseTo(100 + 0.7 * 0.871 * 3.45, 9);
    const [draft] = evaluate(o);
    expect(draft!.evidence).toMatchObject({ check: 'above-max-yield', inputs: 'NDFEB_ALLOY 100 kg x 1, REE_CONCENTRATE 1 kg x 2.1035' });
    expectOneSentence(draft!.summary);
  });

  it('bounds Dy magnets from Dy oxide through metal and alloy (3.0 kg per kg), and keeps a direct yield where the catalogue has one', () => {
    const fromOxide = (out: number): Partial<ProductionReport> => ({ stage: 'MAGNET', material: 'NDFEB_DY_MAGNET', quantityKg: out, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 500 }, { material: 'DY_OXIDE', quantityKg: 30 }] });
    // 500 x 1 + 30 x 0.871 x 3.45 = 590.15 kg; limit 607.85 kg.
    expect(evaluate(fromOxide(607))).toEqual([]);
    expect(evaluate(fromOxide(1000)).map((d) => d.evidence.check)).toEqual(['above-max-yield']);
    // Dy metal alloyed straight into the magnet: the catalogue's 1, not the 3.45 through the alloy.
    expect(testCatalogue().maxYield('DY_METAL', 'NDFEB_DY_MAGNET')).toBe(1);
    expect(testCatalogue().maxYield('DY_OXIDE', 'NDFEB_DY_MAGNET')).toBeCloseTo(0.871 * 3.45, 12);
    expect(testCatalogue().maxYield('DY_OXIDE', 'NDPR_METAL')).toBeUndefined();
  });
});

describe('yield-anomaly: the allowance without lists', () => {
  it.each<[string, Partial<ProductionReport>]>([
    ['metal from oxide', { stage: 'METAL', material: 'NDPR_METAL', quantityKg: 900, inputs: [{ material: 'NDPR_OXIDE', quantityKg: 1000 }] }],
    ['Dy magnets from alloy and Dy metal, iron beside', { quantityKg: 1000, inputs: [{ material: 'IRON', quantityKg: 50 }, { material: 'NDFEB_ALLOY', quantityKg: 960 }, { material: 'DY_METAL', quantityKg: 40 }] }],
    ['magnets from iron only', { stage: 'MAGNET', material: 'NDFEB_MAGNET', inputs: [{ material: 'IRON', quantityKg: 5000 }] }],
    ['mined concentrate', { stage: 'MINING', material: 'REE_CONCENTRATE', inputs: [] }],
    ['recycling', { stage: 'RECYCLING', material: 'NDPR_OXIDE', quantityKg: 250, inputs: [{ material: 'NDFEB_MAGNET', quantityKg: 1000 }] }],
    ['Dy magnets from alloy plus Dy oxide', { stage: 'MAGNET', material: 'NDFEB_DY_MAGNET', quantityKg: 1000, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 500 }, { material: 'DY_OXIDE', quantityKg: 30 }] }],
  ])('is judgeYield’s allowed output or reason: %s', (_, o) => {
    const r = production(o);
    const judgement = judgeYield(r, testCatalogue());
    expect(yieldAllowance(r, testCatalogue())).toBe(judgement.judged ? judgement.allowedKg : judgement.reason);
  });
});

describe('yield-anomaly: integrated magnet runs from NdPr metal (3.45 kg magnet per kg metal)', () => {
  // 100 kg NdPr metal make at most 345 kg magnet; with 3 % tolerance the limit is 355.35 kg.
  const run = (out: number): Partial<ProductionReport> => ({ stage: 'MAGNET', material: 'NDFEB_MAGNET', quantityKg: out, inputs: [{ material: 'NDPR_METAL', quantityKg: 100 }, { material: 'IRON', quantityKg: 220 }] });
  it.each<[string, number, boolean]>([
    ['300 kg magnet (about 33 % rare earth)', 300, false],
    ['at the limit', 355.35, false],
    ['just over the limit', 355.36, true],
    ['twice what the metal allows', 690, true],
  ])('%s', (_, out, fires) => {
    expect(evaluate(run(out)).map((d) => d.evidence.check)).toEqual(fires ? ['above-max-yield'] : []);
  });

  it('bounds Dy magnets from NdPr and Dy metal by both', () => {
    // 100 x 3.45 + 5 x 1 = 350 kg; limit 360.5 kg.
    const o = (out: number): Partial<ProductionReport> => ({ stage: 'MAGNET', material: 'NDFEB_DY_MAGNET', quantityKg: out, inputs: [{ material: 'NDPR_METAL', quantityKg: 100 }, { material: 'DY_METAL', quantityKg: 5 }] });
    expect(evaluate(o(360.5))).toEqual([]);
    expect(evaluate(o(360.6))).toHaveLength(1);
  });
});
