/**
 * robustBaseline against simple-statistics' own median, MAD and mean, computed the textbook way:
 * the same numbers to the last bit (rules' scores and evidence print them), on many samples with
 * ties, zeros and no spread.
 */
import { mean, median, medianAbsoluteDeviation } from 'simple-statistics';
import { describe, expect, it } from 'vitest';
import { medianOf, robustBaseline } from '../../../src/rules/robust-stats.ts';

function reference(values: number[]) {
  const med = median([...values]);
  let spread = medianAbsoluteDeviation([...values]);
  let spreadKind = 'MAD';
  if (spread === 0) {
    spread = 1.2533 * mean(values.map((x) => Math.abs(x - med)));
    spreadKind = 'meanAD';
  }
  return spread === 0 ? { kind: 'no-spread', n: values.length, median: med } : { kind: 'spread', n: values.length, median: med, spread, spreadKind };
}

describe('robustBaseline', () => {
  it('gives simple-statistics’ median, MAD and mean-AD fallback exactly, and leaves the sample as it was', () => {
    let seed = 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (let i = 0; i < 2000; i += 1) {
      const n = 1 + Math.floor(random() * 40);
      const kind = i % 4;
      const values = Array.from({ length: n }, () => (kind === 0 ? 100 : kind === 1 ? Math.round(random() * 5) * 10 : random() * 1e4 + 0.1));
      if (kind === 2 && n > 2) values[0] = values[1]!; // some ties
      const before = [...values];
      const got = robustBaseline(values);
      expect(got).toEqual(reference(values));
      if (got.kind === 'spread') expect(Object.is(got.spread, (reference(values) as { spread: number }).spread)).toBe(true);
      expect(Object.is(medianOf(values), median([...values]))).toBe(true);
      expect(values).toEqual(before);
    }
  });
});
