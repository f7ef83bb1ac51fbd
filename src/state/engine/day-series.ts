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
  /**
   * Each day's entry as written (`[day,value]` JSON), kept from one save to the next: a batch that
   * touches one day of a 32-day chunk then encodes that day only and joins the rest, instead of
   * encoding the whole chunk again (most of a Redis replay's save time). Dropped for a day as soon
   * as its value changes. Filled only by saves, so a state that is never saved holds no text.
   */
  private readonly written = new Map<number, string>();

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
    this.written.delete(day);
  }

  /** Changes the day's value in place, creating it first with `create` when the day has none. */
  update(day: number, create: () => V, change: (value: V) => void): V {
    let value = this.values.get(day);
    if (value === undefined) {
      value = create();
      this.set(day, value);
    } else {
      this.changedChunks.add(chunkOf(day));
      this.written.delete(day);
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
      this.written.delete(d);
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

  /**
   * A chunk's entries as JSON text, exactly `encodeState(chunkEntries(chunk))`, from each day's
   * text kept since the last save where the day has not changed; null when the chunk has no days.
   */
  chunkText(chunk: number): string | null {
    const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
    const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
    if (from === to) return null;
    const parts: string[] = [];
    for (let i = from; i < to; i += 1) {
      const day = this.days[i]!;
      let text = this.written.get(day);
      if (text === undefined) {
        const value = this.values.get(day)!;
        text = encodeState([day, this.codec ? this.codec.encode(value) : value]);
        this.written.set(day, text);
      }
      parts.push(text);
    }
    return `[${parts.join(',')}]`;
  }

  /** Puts back entries as chunkEntries wrote them. */
  restoreEntries(entries: readonly [number, unknown][]): void {
    for (const [day, stored] of entries) {
      if (!this.values.has(day)) this.days.splice(firstAtOrAfter(this.days, day), 0, day);
      this.values.set(day, this.codec ? this.codec.decode(stored) : (stored as V));
      this.written.delete(day);
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const chunk of this.takeChangedChunks()) out.set(String(chunk), this.chunkText(chunk));
    return out;
  }

  restorePart(_part: string, text: string): void {
    this.restoreEntries(decodeState<[number, unknown][]>(text));
  }
}
