/**
 * Seeded scenarios of state updates with awkward numbers, redeliveries and late reports. The results
 * each must give are in test/fixtures/book-scenarios.json (book-scenarios.ts): changing what a seed
 * generates here invalidates them.
 */
import { createHash } from 'node:crypto';
import { DAY_MS as DAY } from '../../src/domain/time.ts';
import { RETENTION_DAYS, type StateUpdate } from '../../src/state/store.ts';

/** A small seeded generator, so a failing scenario can be replayed from its seed. */
export function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FLOW_KIND_LIST = ['produced', 'received', 'consumed', 'shipped', 'exported'] as const;

/** Reports with awkward numbers: raw decimals, half grams, tiny and huge quantities, redeliveries. */
export function scenario(seed: number, length: number, spanDays?: number): StateUpdate[][] {
  const next = random(seed);
  const pick = <T,>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
  const kg = (): number =>
    pick([
      () => Math.round(next() * 1_000_000) / 1000,
      () => next() * 500,
      () => 0.0005,
      () => 0.0004999,
      () => 0.1,
      () => 0.2,
      () => 9_999_999.9995,
      () => 1e-7,
    ])();
  const producers = ['P1', 'P2', 'P3'];
  const materials = ['A_MAT', 'AB', 'Z', 'NDFEB_DY_MAGNET'];
  const firstDay = 20_100;
  // With a span the clock walks through it, and some reports come days or whole retention periods late.
  const spannedDay = (i: number): number => {
    const onTime = firstDay + Math.floor((i * spanDays!) / length);
    return next() < 0.15 ? Math.max(firstDay, onTime - Math.floor(next() * 1.5 * RETENTION_DAYS)) : onTime - Math.floor(next() * 3);
  };
  const sent: StateUpdate[] = [];
  const batches: StateUpdate[][] = [];
  let batch: StateUpdate[] = [];
  for (let i = 0; i < length; i++) {
    let u: StateUpdate;
    if (sent.length > 0 && next() < 0.1) {
      // Over a span, only recent reports are redelivered: results are remembered for SEEN_WINDOW_MS
      // of producer clock (the Lua ledger the fixture was checked against kept them for a wall-clock TTL).
      u = pick(spanDays === undefined ? sent : sent.slice(-20));
    } else {
      const flows = Array.from({ length: Math.floor(next() * 4) }, () => ({ material: pick(materials), kind: pick(FLOW_KIND_LIST), kg: kg() }));
      u = {
        reportId: `R${i}`,
        producerId: pick(producers),
        occurredAt: (spanDays === undefined ? firstDay + Math.floor(next() * 8) : spannedDay(i)) * DAY + Math.floor(next() * DAY),
        flows,
        graceMs: pick([0, 3_600_000, 48 * 3_600_000, Math.floor(next() * 3 * DAY)]),
        declaration: next() < 0.2 ? { material: pick(materials), onHandKg: pick([() => next() * 10_000, () => 0, () => 0.0006, () => 1234567.123456789])() } : undefined,
        licenceUse: next() < 0.2 ? { licenceId: pick(['L1', 'L2']), kg: kg() } : undefined,
      };
      sent.push(u);
    }
    batch.push(u);
    if (next() < 0.2) {
      batches.push(batch);
      batch = [];
    }
  }
  batches.push(batch);
  return batches;
}


/**
 * A short fingerprint of a batch's results, as strict as toStrictEqual and stricter about zero:
 * keys in sorted order, a key holding undefined kept apart from an absent one, -0 apart from 0.
 */
export function digestOf(value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex').slice(0, 16);
}

function canonical(value: unknown): string {
  if (value === undefined) return 'u';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
