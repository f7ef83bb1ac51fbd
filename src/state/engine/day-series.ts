/**
 * Values per UTC day, kept with their days in ascending order: a producer's daily flow totals of
 * one material, its stock declarations, the outflow reports of each day. Saved in chunks of
 * CHUNK_DAYS days, so a batch writes back only the chunks whose days it touched, and pruning old
 * days deletes whole chunks.
 *
 * `values` and `days` are exposed read-only for arithmetic that walks the days in order (see
 * balance.ts); every change goes through the methods, which record the chunk as changed.
 */
import { firstAtOrAfter } from '../balance.ts';
import { decodeState, encodeState, type StateCell } from './cell.ts';

export const CHUNK_DAYS = 16;

const chunkOf = (day: number): number => Math.floor(day / CHUNK_DAYS);

export class DaySeries<V> implements StateCell {
  readonly values = new Map<number, V>();
  /** The keys of `values`, ascending. */
  readonly days: number[] = [];
  private readonly changedChunks = new Set<number>();

  get(day: number): V | undefined {
    return this.values.get(day);
  }

  has(day: number): boolean {
    return this.values.has(day);
  }

  set(day: number, value: V): void {
    if (!this.values.has(day)) this.days.splice(firstAtOrAfter(this.days, day), 0, day);
    this.values.set(day, value);
    this.changedChunks.add(chunkOf(day));
  }

  /** Changes the day's value in place, creating it first with `create` when the day has none. */
  update(day: number, create: () => V, change: (value: V) => void): V {
    let value = this.values.get(day);
    if (value === undefined) {
      value = create();
      this.set(day, value);
    } else {
      this.changedChunks.add(chunkOf(day));
    }
    change(value);
    return value;
  }

  /** The latest day on or before `day` that has a value. */
  lastDayAtOrBefore(day: number): number | undefined {
    const i = firstAtOrAfter(this.days, day + 1) - 1;
    return i < 0 ? undefined : this.days[i];
  }

  /** Forgets every day before `day` (exclusive). */
  deleteBefore(day: number): void {
    const gone = this.days.splice(0, firstAtOrAfter(this.days, day));
    for (const d of gone) {
      this.values.delete(d);
      this.changedChunks.add(chunkOf(d));
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const chunk of this.changedChunks) {
      const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
      const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
      const entries = this.days.slice(from, to).map((d) => [d, this.values.get(d)]);
      out.set(String(chunk), entries.length === 0 ? null : encodeState(entries));
    }
    this.changedChunks.clear();
    return out;
  }

  restorePart(_part: string, text: string): void {
    for (const [day, value] of decodeState<[number, V][]>(text)) {
      if (!this.values.has(day)) this.days.splice(firstAtOrAfter(this.days, day), 0, day);
      this.values.set(day, value);
    }
  }
}
