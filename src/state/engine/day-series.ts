/**
 * Values per UTC day, kept with their days in ascending order: a producer's daily flow totals of
 * one material, its stock declarations, the outflow reports of each day. Saved in chunks of
 * CHUNK_DAYS days (alone, or with other series of the same days: see material-book.ts), so a batch writes back only the chunks whose days it touched, and pruning old
 * days deletes whole chunks.
 *
 * `days` is exposed read-only for arithmetic that walks the days in order (see balance.ts); every
 * change goes through the methods, which record the chunk as changed.
 */
import { firstAtOrAfter } from '../balance.ts';
import { decodeState, encodeState, type StateCell, type ValueCodec } from './cell.ts';

export const CHUNK_DAYS = 32;

export const chunkOf = (day: number): number => Math.floor(day / CHUNK_DAYS);

/**
 * A day is written as its place in its chunk (0 to CHUNK_DAYS - 1; the chunk is the part's name)
 * instead of its number since 1970: two characters instead of five, on every entry. Chunks were
 * first written with whole day numbers, which still read: a whole day number is never within
 * 0..CHUNK_DAYS - 1 except in chunk 0, where both are the same, or negative in chunk -1.
 */
const dayInChunk = (day: number): number => day - chunkOf(day) * CHUNK_DAYS;
const dayFromStored = (chunk: number, stored: number): number => (stored >= 0 && stored < CHUNK_DAYS ? chunk * CHUNK_DAYS + stored : stored);

export class DaySeries<V> implements StateCell {
  /** The days that have a value, ascending. */
  readonly days: number[] = [];
  /**
   * The value of `days[i]` at index i. Two parallel arrays rather than a Map: a producer holds a few
   * hundred days per series, and a Map's hash table cost more heap than the values themselves.
   */
  private readonly vals: V[] = [];
  // Where values are kept: an array of them here; a subclass may pack them (flow-series.ts).
  protected valueAt(i: number): V {
    return this.vals[i]!;
  }
  protected putAt(i: number, value: V): void {
    this.vals[i] = value;
  }
  protected insertAt(at: number, value: V): void {
    if (at === this.vals.length) this.vals.push(value);
    else this.vals.splice(at, 0, value);
  }
  protected removeFront(n: number): void {
    this.vals.splice(0, n);
  }
  private readonly changedChunks = new Set<number>();
  /**
   * The day last recorded as changed, while that record stands (its chunk among the changed, no
   * text kept for it): a day's reports change it again and again, and need not record it again.
   */
  private lastTouched = Number.NaN;
  /**
   * Each day's entry as written (`[day,value]` JSON), kept from one save to the next: a batch that
   * touches one day of a 32-day chunk then encodes that day only and joins the rest, instead of
   * encoding the whole chunk again (most of a Redis replay's save time). Dropped for a day as soon
   * as its value changes. Made by the first save (an empty Map is ~190 bytes of heap, and a
   * producer holds a few series per material), so a state that is never saved holds none.
   */
  private written: Map<number, string> | undefined;
  /**
   * The days changed since their chunk was last written whole (a cell that saves delta parts,
   * material-book.ts, asks for them), and the chunks that lost days since (written whole next).
   * Made by `trackSinceWhole`, so a state that is never saved keeps none.
   */
  private sinceWhole: Set<number> | undefined;
  private lostDays: Set<number> | undefined;

  /**
   * Without a codec, values are written as they are. `flat`: the codec writes a value as a list of
   * numbers and text, and a day is written as `[place, ...that list]` rather than `[place, list]`
   * (two characters a day; the nested form, as first written, still reads).
   */
  constructor(
    private readonly codec?: ValueCodec<V>,
    private readonly flat = false,
  ) {}

  private entryText(day: number, value: V): string {
    const stored = this.codec ? this.codec.encode(value) : value;
    return encodeState(this.flat ? [dayInChunk(day), ...(stored as unknown[])] : [dayInChunk(day), stored]);
  }

  /** The index of `day` in `days`, or -1. Reports mostly come in day order: the last day first. */
  protected indexOf(day: number): number {
    const last = this.days.length - 1;
    if (last >= 0 && this.days[last] === day) return last;
    const i = firstAtOrAfter(this.days, day);
    return this.days[i] === day ? i : -1;
  }

  get(day: number): V | undefined {
    const i = this.indexOf(day);
    return i === -1 ? undefined : this.valueAt(i);
  }

  has(day: number): boolean {
    return this.indexOf(day) !== -1;
  }

  set(day: number, value: V): void {
    const i = this.indexOf(day);
    if (i === -1) this.insert(day, value);
    else this.putAt(i, value);
    this.touched(day);
  }

  /** Records the day's chunk as changed and its kept text as stale. */
  protected touched(day: number): void {
    if (day === this.lastTouched) return;
    this.changedChunks.add(chunkOf(day));
    this.written?.delete(day);
    this.sinceWhole?.add(day);
    this.lastTouched = day;
  }

  /** Adds a day that has no value yet; returns its index. */
  protected insert(day: number, value: V): number {
    const at = firstAtOrAfter(this.days, day);
    if (at === this.days.length) this.days.push(day);
    else this.days.splice(at, 0, day);
    this.insertAt(at, value);
    return at;
  }

  /**
   * The day's value, to be changed in place by the caller, made first with `create` when the day
   * has none; the day counts as changed. `update` without a callback to allocate.
   */
  take(day: number, create: () => V): V {
    const i = this.indexOf(day);
    let value: V;
    if (i === -1) {
      value = create();
      this.insert(day, value);
    } else {
      value = this.valueAt(i);
    }
    this.touched(day);
    return value;
  }

  /** Changes the day's value in place, creating it first with `create` when the day has none. */
  update(day: number, create: () => V, change: (value: V) => void): V {
    const i = this.indexOf(day);
    let value: V;
    if (i === -1) {
      value = create();
      this.insert(day, value);
    } else {
      value = this.valueAt(i);
    }
    this.touched(day);
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
    const n = firstAtOrAfter(this.days, day);
    if (n === 0) return;
    for (const d of this.days.splice(0, n)) {
      this.written?.delete(d);
      this.sinceWhole?.delete(d);
      this.changedChunks.add(chunkOf(d));
      this.lostDays?.add(chunkOf(d));
    }
    this.removeFront(n);
  }

  /** The chunks changed since the last call; clears the record of changes. */
  takeChangedChunks(): number[] {
    const chunks = [...this.changedChunks];
    this.changedChunks.clear();
    this.lastTouched = Number.NaN;
    return chunks;
  }

  /** A chunk's days (as places in the chunk) with their values as written (through the codec). */
  chunkEntries(chunk: number): [number, unknown][] {
    const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
    const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
    const out: [number, unknown][] = [];
    for (let i = from; i < to; i += 1) out.push([dayInChunk(this.days[i]!), this.codec ? this.codec.encode(this.valueAt(i)) : this.valueAt(i)]);
    return out;
  }

  /**
   * A chunk's entries as JSON text, exactly `encodeState(chunkEntries(chunk))` (each entry flat
   * when the series is), from each day's
   * text kept since the last save where the day has not changed; null when the chunk has no days.
   * `write` writes a changed day's entry instead (a coding of its own, as material-book.ts's
   * outflow ids); its texts are kept the same way, until `forgetTexts`.
   */
  chunkText(chunk: number, write?: (place: number, value: V) => string): string | null {
    const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
    const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
    if (from === to) return null;
    // Texts are kept from here on: a change to any day must be recorded again.
    this.lastTouched = Number.NaN;
    const parts: string[] = [];
    for (let i = from; i < to; i += 1) parts.push(this.keptText(i, write, true));
    return `[${parts.join(',')}]`;
  }

  /** Day i's entry text: the one kept since the last save where there is one, else made (and kept when `keep`). */
  private keptText(i: number, write: ((place: number, value: V) => string) | undefined, keep: boolean): string {
    const day = this.days[i]!;
    const written = (this.written ??= new Map());
    let text = keep ? written.get(day) : undefined;
    if (text === undefined) {
      text = write ? write(dayInChunk(day), this.valueAt(i)) : this.entryText(day, this.valueAt(i));
      if (keep) written.set(day, text);
    }
    return text;
  }

  /** Starts recording the days changed since their chunk was written whole (see sinceWhole). */
  trackSinceWhole(): void {
    this.sinceWhole ??= new Set();
    this.lostDays ??= new Set();
  }

  /** The chunk's days changed since it was written whole, ascending; undefined if it lost days since (it must be written whole). */
  changedSinceWhole(chunk: number): number[] | undefined {
    if (this.lostDays?.has(chunk)) return undefined;
    const days: number[] = [];
    for (const day of this.sinceWhole ?? []) if (chunkOf(day) === chunk) days.push(day);
    return days.sort((a, b) => a - b);
  }

  /** How many days of the chunk hold a value. */
  daysIn(chunk: number): number {
    return firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS) - firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
  }

  /** The chunk has been written whole: nothing of it is changed since. */
  writtenWhole(chunk: number): void {
    if (this.sinceWhole) for (const day of this.sinceWhole) if (chunkOf(day) === chunk) this.sinceWhole.delete(day);
    this.lostDays?.delete(chunk);
  }

  /** Days (held, ascending) as chunk entries in text, `[entry, ...]`, each as chunkText writes it. */
  daysText(days: readonly number[], write?: (place: number, value: V) => string): string {
    const parts: string[] = [];
    for (const day of days) {
      const i = this.indexOf(day);
      // A text of `write`'s (an outflow day's, uncoded here) is not what chunkText keeps: made each time.
      if (i !== -1) parts.push(this.keptText(i, write, write === undefined));
    }
    // Texts are kept from here on: a change to any day must be recorded again (as chunkText).
    this.lastTouched = Number.NaN;
    return `[${parts.join(',')}]`;
  }

  /** Drops the kept texts of a chunk's days: they are written again at the next chunkText. */
  forgetTexts(chunk: number): void {
    const from = firstAtOrAfter(this.days, chunk * CHUNK_DAYS);
    const to = firstAtOrAfter(this.days, (chunk + 1) * CHUNK_DAYS);
    if (this.written) for (let i = from; i < to; i += 1) this.written.delete(this.days[i]!);
  }

  /**
   * Puts back a chunk's entries as chunkEntries or chunkText wrote them (or with whole day numbers,
   * as first written; or nested where now flat).
   */
  restoreEntries(chunk: number, entries: readonly (readonly unknown[])[], fromDelta = false): void {
    for (const entry of entries) {
      const day = dayFromStored(chunk, entry[0] as number);
      // A delta's days are still changed since the whole chunk: the next delta writes them again.
      if (fromDelta) this.sinceWhole?.add(day);
      const stored = this.flat && !Array.isArray(entry[1]) ? entry.slice(1) : entry[1];
      const value = this.codec ? this.codec.decode(stored) : (stored as V);
      const i = this.indexOf(day);
      if (i === -1) this.insert(day, value);
      else this.putAt(i, value);
      this.written?.delete(day);
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const chunk of this.takeChangedChunks()) out.set(String(chunk), this.chunkText(chunk));
    return out;
  }

  restorePart(part: string, text: string): void {
    this.restoreEntries(Number(part), decodeState<[number, unknown][]>(text));
  }
}
