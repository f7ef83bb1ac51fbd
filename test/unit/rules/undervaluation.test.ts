import { describe, expect, it } from 'vitest';
import type { ShipmentReport } from '../../../src/domain/events.ts';
import { judgeAgainstHistory, undervaluation, undervaluationParams } from '../../../src/rules/undervaluation.ts';
import { paramsFrom, reports, ruleInput } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const DEFAULTS = undervaluationParams.parse({});
/** NDFEB_DY_MAGNET: reference 55, floor 35 USD/kg. */
const at = (usdPerKg: number, o: Partial<ShipmentReport> = {}) => reports.shipments({ quantityKg: 1000, declaredValueUsd: usdPerKg * 1000, ...o });
const evaluate = (usdPerKg: number, history: number[] = [], params: Record<string, unknown> = {}, o: Partial<ShipmentReport> = {}) =>
  undervaluation.evaluate(ruleInput(at(usdPerKg, o), { priceHistory: history }), paramsFrom(undervaluationParams, params));
/** Twenty prices around 60 with a MAD of exactly 2. */
const STEADY = [56, 56, 58, 58, 58, 58, 60, 60, 60, 60, 60, 60, 60, 60, 62, 62, 62, 62, 64, 64];

describe('undervaluation parameters', () => {
  it('defaults to the floor itself, Iglewicz-Hoaglin 3.5, 8 prices of history, a 30 % cut', () => {
    expect(DEFAULTS).toEqual({ floorFactor: 1, zThreshold: 3.5, minHistory: 8, minShortfallPct: 30, historySize: 30 });
  });

  it.each([
    ['a zero z threshold', { zThreshold: 0 }, 'zThreshold'],
    ['a history longer than the store keeps', { historySize: 65 }, 'historySize'],
    ['a fractional minimum history', { minHistory: 7.5 }, 'minHistory'],
    ['a shortfall over 100 %', { minShortfallPct: 101 }, 'minShortfallPct'],
  ])('rejects %s', (_, raw, field) => {
    const result = undervaluationParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('undervaluation: the catalogue floor', () => {
  it.each<[string, number, boolean]>([
    ['just above the 35 USD/kg floor', 35.01, false],
    ['at the floor', 35, false],
    ['just below the floor', 34.99, true],
    ['the 2025 case: 533 kg Dy-NdFeB at ~$54.6/kg is above it', 54.6, false],
  ])('%s', (_, price, fires) => {
    expect(evaluate(price)).toHaveLength(fires ? 1 : 0);
  });

  it('moves with floorFactor', () => {
    expect(evaluate(30, [], { floorFactor: 0.8 })).toHaveLength(0);
    expect(evaluate(27.9, [], { floorFactor: 0.8 })).toHaveLength(1);
  });

  it('judges exports only', () => {
    expect(evaluate(1, [], {}, { direction: 'DOMESTIC', clientId: 'P2' })).toEqual([]);
  });

  it('says there is not enough history rather than guessing, and still names the floor', () => {
    const [draft] = evaluate(27.7, [60, 61]);
    expect(draft!.evidence).toMatchObject({ checks: 'catalogue-floor', history: 'not-enough-history', historyPrices: '2', minHistory: '8', floorUsdPerKg: '35', referenceUsdPerKg: '55', declaredUsdPerKg: '27.7' });
    expect(draft!.summary).toBe('P1 declared 1 t of NDFEB_DY_MAGNET to Client One GmbH (DE) at 27.7 USD/kg, below the 35 USD/kg floor (reference 55).');
    expectOneSentence(draft!.summary);
  });
});

describe('undervaluation: the recent distribution', () => {
  it('computes the modified z on median and MAD', () => {
    expect(judgeAgainstHistory(40, STEADY, DEFAULTS)).toMatchObject({ kind: 'scored', n: 20, median: 60, spread: 2, spreadKind: 'MAD' });
    expect(judgeAgainstHistory(40, STEADY.slice(0, 7), DEFAULTS)).toEqual({ kind: 'not-enough-history', n: 7 });
  });

  it('falls back to 1.2533 x the mean absolute deviation when MAD is 0', () => {
    const flat = [60, 60, 60, 60, 60, 60, 60, 60, 70, 50];
    const verdict = judgeAgainstHistory(40, flat, DEFAULTS);
    expect(verdict).toMatchObject({ kind: 'scored', spreadKind: 'meanAD', median: 60 });
    expect(verdict.kind === 'scored' && verdict.spread).toBeCloseTo(1.2533 * 2, 6);
    expect(judgeAgainstHistory(40, Array(10).fill(60), DEFAULTS)).toEqual({ kind: 'no-spread', n: 10, median: 60 });
  });

  // z = 0.6745 (x - 60) / 2: -3.5 at x = 49.62; a 30 % cut from 60 is 42. Floor 35 stays out of it.
  it.each<[string, number, Record<string, unknown>, boolean]>([
    ['far below in z and in share, above the floor', 41.9, {}, true],
    ['at the 30 % cut exactly', 42, {}, true],
    ['below in z but not cut by 30 %', 42.1, {}, false],
    ['a 20 % cut with the cut lowered to 20 %', 48, { minShortfallPct: 20 }, true],
    ['just under z -3.5 with no minimum cut', 49.6, { minShortfallPct: 0 }, true],
    ['just over z -3.5 with no minimum cut', 49.7, { minShortfallPct: 0 }, false],
  ])('%s', (_, price, params, fires) => {
    const drafts = evaluate(price, STEADY, params);
    expect(drafts).toHaveLength(fires ? 1 : 0);
    if (fires) expect(drafts[0]!.evidence.checks).toBe('recent-distribution');
  });

  it('judges a history at one fixed price by the cut alone (no spread to score against): 30 % under it fires, as a cent of spread would make it', () => {
    const fixedPrice = Array(12).fill(60);
    const [draft] = evaluate(42, fixedPrice);
    expect(draft!.evidence).toMatchObject({ checks: 'recent-distribution', history: 'no-spread', historyMedianUsdPerKg: '60' });
    expect(draft!.score).toBe(1);
    expect(draft!.summary).toContain('below the 60 USD/kg of every one of its last 12 exports');
    expectOneSentence(draft!.summary);
    // The same drop against a cent of spread: scored, and as clear.
    expect(evaluate(42, [...Array(11).fill(60), 60.01])[0]!.score).toBe(1);
    expect(evaluate(42.1, fixedPrice)).toEqual([]);
    // No minimum cut: still only a price under the fixed one.
    expect(evaluate(60, fixedPrice, { minShortfallPct: 0 })).toEqual([]);
    expect(evaluate(59, fixedPrice, { minShortfallPct: 0 })).toHaveLength(1);
  });

  it('names median, MAD, z and thresholds, and both checks when both trip', () => {
    const [draft] = evaluate(20, STEADY);
    expect(draft!.evidence).toMatchObject({
      checks: 'catalogue-floor,recent-distribution',
      historyMedianUsdPerKg: '60',
      historyMad: '2',
      modifiedZ: '-13.49',
      zThreshold: '-3.5',
      shortfallFromMedian: '66.67%',
      history: 'scored',
      historyPrices: '20',
    });
    expect(draft!.score).toBe(1);
    expectOneSentence(draft!.summary);
  });

  it('looks only at the last historySize prices', () => {
    const old = Array(30).fill(200);
    expect(evaluate(41, [...old, ...STEADY], { historySize: 20 })).toHaveLength(1);
    expect(evaluate(41, [...old, ...STEADY], { historySize: 50 })).toHaveLength(0);
  });
});
