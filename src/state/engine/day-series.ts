/**
 * Values per UTC day, kept with their days in ascending order: a producer's daily flow totals of
 * one material, its stock declarations, the outflow reports of each day. Saved in chunks of
 * CHUNK_DAYS days (alone, or with other series of the same days: see material-book.ts), so a batch writes back only the chunks whose days it touched, and pruning old
 * days deletes whole chunks.
 *
 * `values` and `days` are exposed read-only for arithmetic that walks the days in order (see
 * balance.ts); every change goes through the methods, which record the chunk as changed.
 */
import { firstAtOrAfter } from '../balance.ts';
import { decodeState, encodeState, type StateCell, type ValueCodec } from './cell.ts';

export const CHUNK_DAYS = 32;

export const chunkOf = (day: number): number => Math.floor(day / CHUNK_DAYS);

export class DaySeries<V> implements StateCell {
  readonly values = new Map<number, V>();
  /** The keys of `values`, ascending. */
  readonly days: number[] = [];
  private readonly changedChunks = new Set<number>();

  /** Without a codec, values are written as they are. */
  constructor(private readonly codec?: ValueCodec<V>) {}

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

  /** The chunks changed since the last call; clears the record of changes. */
  takeChangedChunks(): number[] {
    const chunks = [...this.changedChunks];
    this.changedChunks.clear();
    return chunks;
  }

  /** A chunk's days with their values as written (through the codec). */
  chunkEntries(chunk: number): [number, unknown][] {
    const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
    const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
    return this.days.slice(from, to).map((d) => {
      const value = this.values.get(d)!;
      return [d, this.codec ? this.codec.encode(value) : value];
    });
  }

  /** Puts back entries as chunkEntries wrote them. */
  restoreEntries(entries: readonly [number, unknown][]): void {
    for (const [day, stored] of entries) {
      if (!this.values.has(day)) this.days.splice(firstAtOrAfter(this.days, day), 0, day);
      this.values.set(day, this.codec ? this.codec.decode(stored) : (stored as V));
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const chunk of this.takeChangedChunks()) {
      const entries = this.chunkEntries(chunk);
      out.set(String(chunk), entries.length === 0 ? null : encodeState(entries));
    }
    return out;
  }

  restorePart(_part: string, text: string): void {
    this.restoreEntries(decodeState<[number, unknown][]>(text));
  }
}
