/**
 * Robust statistics over a producer's own history (declared prices, shipment sizes): the median,
 * the spread around it and the modified z-score of Iglewicz & Hoaglin (RULE-EVIDENCE.md):
 * z = 0.6745 (x - median) / MAD; when MAD is 0, 1.2533 x the mean absolute deviation stands in.
 * Median and MAD ignore a few wild values, which a mean and a standard deviation would not.
 */
import { mean, median, quantileSorted } from 'simple-statistics';

/** Iglewicz & Hoaglin's constant: 0.6745 makes MAD consistent with a normal sigma. */
const Z_SCALE = 0.6745;
/** Used instead of MAD when MAD is 0 (RULE-EVIDENCE.md). */
const MEAN_AD_SCALE = 1.2533;

export type RobustBaseline =
  | { kind: 'no-spread'; n: number; median: number }
  | { kind: 'spread'; n: number; median: number; spread: number; spreadKind: 'MAD' | 'meanAD' };

/** The median of a non-empty sample (simple-statistics selects on a copy: the sample is left as it was). */
export const medianOf = (values: readonly number[]): number => median(values as number[]);

/** Median and spread of a non-empty sample. */
export function robustBaseline(values: readonly number[]): RobustBaseline {
  const med = medianOf(values);
  // medianAbsoluteDeviation(values), without finding the median a second time.
  const deviations = values.map((x) => Math.abs(x - med));
  let spread = median(deviations);
  let spreadKind: 'MAD' | 'meanAD' = 'MAD';
  if (spread === 0) {
    spread = MEAN_AD_SCALE * mean(deviations);
    spreadKind = 'meanAD';
  }
  if (spread === 0) return { kind: 'no-spread', n: values.length, median: med };
  return { kind: 'spread', n: values.length, median: med, spread, spreadKind };
}

/** The modified z-score of x against a baseline with spread (the mean-AD fallback is already scaled to sigma). */
export const modifiedZ = (x: number, b: Extract<RobustBaseline, { kind: 'spread' }>): number =>
  b.spreadKind === 'MAD' ? (Z_SCALE * (x - b.median)) / b.spread : (x - b.median) / b.spread;

/** The q-quantile (0..1) of a non-empty sample. */
export const quantileOf = (values: readonly number[], q: number): number => quantileSorted([...values].sort((a, b) => a - b), q);
