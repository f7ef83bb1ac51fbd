/**
 * A seeded PRNG for the simulator. Math.random cannot be seeded, and a recording must be reproducible
 * bit for bit from its seed, so the generator and every helper drawing from it live here.
 *
 * The core is xoshiro128** (32-bit state words, so it stays in fast int32 arithmetic in V8), seeded
 * through splitmix32 so that neighbouring seeds (1, 2, 3...) still give unrelated streams.
 */

const TWO_POW_32 = 4_294_967_296;

function splitmix32(state: { s: number }): number {
  state.s = (state.s + 0x9e3779b9) | 0;
  let z = state.s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

/** FNV-1a: turns a stream name into a 32-bit number so streams can be named, not numbered. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i += 1) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const rotl = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  /** Box-Muller yields two normals per draw; the second is kept for the next call. */
  private spareNormal: number | null = null;

  /** `stream` gives independent sequences from one seed (world, traffic, anomalies...). */
  constructor(seed: number, stream = '') {
    const state = { s: (Math.trunc(seed) ^ hashString(stream)) | 0 };
    this.a = splitmix32(state);
    this.b = splitmix32(state);
    this.c = splitmix32(state);
    this.d = splitmix32(state);
    // An all-zero state would be a fixed point; splitmix32 practically never gives it, but be sure.
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** A uniform unsigned 32-bit integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /** Uniform in [min, max). */
  float(min: number, max: number): number {
    return min + (max - min) * this.next();
  }

  /** Uniform integer in [min, max], both ends included. */
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** An index drawn with probability proportional to its weight; -1 when no weight is positive. */
  weightedIndex(weights: readonly number[]): number {
    let total = 0;
    for (const w of weights) if (w > 0) total += w;
    if (total <= 0) return -1;
    let r = this.next() * total;
    for (let i = 0; i < weights.length; i += 1) {
      const w = weights[i]!;
      if (w <= 0) continue;
      r -= w;
      if (r < 0) return i;
    }
    // Float rounding can leave r a hair above zero after the last positive weight.
    for (let i = weights.length - 1; i >= 0; i -= 1) if (weights[i]! > 0) return i;
    return -1;
  }

  weighted<T>(items: readonly T[], weightOf: (item: T) => number): T | undefined {
    const i = this.weightedIndex(items.map(weightOf));
    return i < 0 ? undefined : items[i];
  }

  /** Standard normal scaled to (mean, sd), by the Box-Muller transform. */
  normal(mean = 0, sd = 1): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return mean + sd * z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const radius = Math.sqrt(-2 * Math.log(u));
    this.spareNormal = radius * Math.sin(2 * Math.PI * v);
    return mean + sd * radius * Math.cos(2 * Math.PI * v);
  }

  /** Log-normal with the given median: firm sizes and client volumes are skewed like this. */
  logNormal(median: number, sigma: number): number {
    return median * Math.exp(this.normal(0, sigma));
  }

  /**
   * A Poisson count. Knuth's product method is exact but linear in lambda, so large means use the
   * normal approximation, which is plenty for "how many attempts today".
   */
  poisson(lambda: number): number {
    if (lambda <= 0) return 0;
    if (lambda > 30) return Math.max(0, Math.round(this.normal(lambda, Math.sqrt(lambda))));
    const limit = Math.exp(-lambda);
    let k = 0;
    let p = this.next();
    while (p > limit) {
      k += 1;
      p *= this.next();
    }
    return k;
  }

  /** Fisher-Yates on a copy. */
  shuffled<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i -= 1) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    return out;
  }

  /** k distinct items (all of them when k >= length), in random order. Costs k draws, not length. */
  sample<T>(items: readonly T[], k: number): T[] {
    const out = items.slice();
    const n = Math.min(Math.max(0, k), out.length);
    for (let i = 0; i < n; i += 1) {
      const j = i + Math.floor(this.next() * (out.length - i));
      const tmp = out[i]!;
      out[i] = out[j]!;
      out[j] = tmp;
    }
    out.length = n;
    return out;
  }
}
