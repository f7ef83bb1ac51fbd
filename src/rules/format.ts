/** Number formatting for evidence and summaries: evidence values are strings, so make them stable. */
export const kg = (x: number): string => String(Math.round(x * 1000) / 1000);
export const pct = (ratio: number): string => `${(Math.round(ratio * 10_000) / 100).toString()}%`;
export const fixed = (x: number, digits = 3): string => String(Number(x.toFixed(digits)));
export const tonnes = (kgValue: number): string =>
  kgValue >= 1000 ? `${fixed(kgValue / 1000, 2)} t` : `${fixed(kgValue, 1)} kg`;
