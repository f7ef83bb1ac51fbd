/**
 * One material's balance book of one producer as a single engine cell: three day series (daily
 * flow totals, stock declarations, the outflow reports of each day) saved together, one part per
 * chunk of days, so a producer's book is a handful of fields in Redis rather than three times as
 * many, and a batch rewrites only the chunk it touched.
 */
import { FLOW_KINDS, MAX_SUBJECT_IDS, type FlowTotals } from '../store.ts';
import type { BookReader } from '../balance.ts';
import { decodeState, type StateCell, type ValueCodec } from './cell.ts';
import { DELTA_SUFFIX, writesDelta } from './delta-parts.ts';
import { DaySeries } from './day-series.ts';
import { FlowSeries } from './flow-series.ts';
import { decodeId, encodeId, fitsCoding, roomyCoding, type IdCoding, type IdTail } from './id-lists.ts';

export interface Declaration {
  kg: number;
  reportId: string;
}

// Compact forms: a day's totals as five numbers in FLOW_KINDS order, a declaration as a pair.
// Trailing zero totals are left out ([356.1] for a day that only produced): most days have one or
// two kinds of flow. A stored list of all five (as first written) reads the same. Negative zero is
// a value, not an absent total, so it is kept.
const isPlainZero = (n: number): boolean => n === 0 && !Object.is(n, -0);
const totalsCodec: ValueCodec<FlowTotals, number[]> = {
  encode: (t) => {
    const stored = FLOW_KINDS.map((kind) => t[kind]);
    while (stored.length > 1 && isPlainZero(stored[stored.length - 1]!)) stored.pop();
    return stored;
  },
  decode: (stored) => Object.fromEntries(FLOW_KINDS.map((kind, i) => [kind, stored[i] ?? 0])) as FlowTotals,
};
const declarationCodec: ValueCodec<Declaration, [number, string]> = {
  encode: (d) => [d.kg, d.reportId],
  decode: ([kg, reportId]) => ({ kg, reportId }),
};

/**
 * A chunk's outflow reports: the coding their ids share (id-lists.ts), then each day's ids as tails,
 * `["PRD-16-000", 5, [[2, [25130, 25129]], ...]]`. First written as `[[2, ["PRD-16-00025130", ...]], ...]`,
 * which still reads (its first element is never a string). About half the size of a book.
 */
type StoredOutflows = [prefix: string, width: number, days: [number, IdTail[]][]] | [number, string[]][];

type StoredChunk = [flows: [number, unknown][], stock: [number, unknown][], outflows: StoredOutflows];


function outflowEntries(stored: StoredOutflows): [number, string[]][] {
  if (typeof stored[0] !== 'string') return stored as [number, string[]][];
  const [prefix, width, days] = stored as [string, number, [number, IdTail[]][]];
  return days.map(([place, tails]) => [place, tails.map((t) => decodeId([prefix, width], t))]);
}


/**
 * Each day's ids held as one string, joined by a space (ids are key parts, keys.ts, which hold
 * none), not as an array of strings: a day holds one or two ids on most days, and an array of them
 * cost ~200 bytes of heap per day where the joined text takes ~40 (a producer holds a few hundred
 * such days). Read and written as lists, as DaySeries<string[]> (a fresh list each time).
 */
const ID_SEPARATOR = ' ';

/** Whether `id` is one of the ids in `joined`. */
function holdsId(joined: string, id: string): boolean {
  if (joined.length === id.length) return joined === id;
  let from = joined.indexOf(id);
  while (from !== -1) {
    const end = from + id.length;
    if ((from === 0 || joined[from - 1] === ID_SEPARATOR) && (end === joined.length || joined[end] === ID_SEPARATOR)) return true;
    from = joined.indexOf(id, from + 1);
  }
  return false;
}

function idCount(joined: string): number {
  let n = 1;
  for (let at = joined.indexOf(ID_SEPARATOR); at !== -1; at = joined.indexOf(ID_SEPARATOR, at + 1)) n += 1;
  return n;
}

export class IdListSeries extends DaySeries<string[]> {
  private readonly joined: string[] = [];

  /** Adds an id to the day's list unless held already or the list holds `max`. */
  addId(day: number, id: string, max: number): void {
    const i = this.indexOf(day);
    if (i === -1) {
      this.insert(day, [id]);
    } else {
      const held = this.joined[i]!;
      if (holdsId(held, id) || idCount(held) >= max) return;
      // Array join makes flat text; `+` would keep a rope of the day's ids.
      this.joined[i] = [held, id].join(ID_SEPARATOR);
    }
    this.touched(day);
  }

  protected override valueAt(i: number): string[] {
    return this.joined[i]!.split(ID_SEPARATOR);
  }
  protected override putAt(i: number, ids: string[]): void {
    this.joined[i] = ids.join(ID_SEPARATOR);
  }
  protected override insertAt(at: number, ids: string[]): void {
    if (at === this.joined.length) this.joined.push(ids.join(ID_SEPARATOR));
    else this.joined.splice(at, 0, ids.join(ID_SEPARATOR));
  }
  protected override removeFront(n: number): void {
    this.joined.splice(0, n);
  }
}

export class MaterialBookCell implements StateCell {
  // A day as `[place, ...totals]` and `[place, kg, reportId]` (DaySeries' flat entries).
  readonly flows = new FlowSeries(totalsCodec, true);
  readonly stock = new DaySeries<Declaration>(declarationCodec, true);
  readonly outflows = new IdListSeries();
  /**
   * Per chunk, the coding its outflow ids were last written under. Kept while the chunk's new ids
   * fit it, so a save writes only the changed days' tails and joins the texts kept for the others
   * (the outflows series keeps them): re-coding a whole chunk every batch was a tenth of a Redis
   * replay's CPU. Any coding the ids fit reads back the same ids. Made by the first save.
   */
  private outflowCodings: Map<number, IdCoding> | undefined;
  /**
   * Chunks whose whole part and whose delta part (`<chunk>+`: the days changed since the chunk was
   * written whole, delta-parts.ts) are in storage. Made by the first save or restore, with the
   * series' record of days changed since (day-series.ts trackSinceWhole): a book that is never
   * saved keeps none. A producer's book chunk was ~430 characters written on every save that
   * touched one of its days.
   */
  private stored: { whole: Set<number>; delta: Set<number> } | undefined;

  /**
   * The series as balance.ts reads them, for its day-ordered arithmetic (read only). One object for
   * the cell's life: the series change in place, and a check asks for it several times.
   */
  readonly view: BookReader = {
    flowTotals: this.flows.totals,
    flowDays: this.flows.days,
    declarations: this.stock,
    declarationDays: this.stock.days,
    outflowIds: this.outflows,
  };

  /** Names an outflow report as a subject of its day's deficit check: each once, at most MAX_SUBJECT_IDS. */
  addOutflow(day: number, reportId: string): void {
    this.outflows.addId(day, reportId, MAX_SUBJECT_IDS);
  }

  /**
   * Forgets what RETENTION_DAYS allows (see store.ts): with A the latest declaration on or before
   * the cutoff, the flows and outflows of days up to A and the declarations before A.
   */
  prune(cutoffDay: number): void {
    const openingDay = this.stock.lastDayAtOrBefore(cutoffDay);
    if (openingDay === undefined) return;
    this.stock.deleteBefore(openingDay);
    this.flows.deleteBefore(openingDay + 1);
    this.outflows.deleteBefore(openingDay + 1);
  }

  /** A getter, not a field: a book that is never saved (an in-memory replay) then holds no list of them. */
  private get series(): readonly DaySeries<unknown>[] {
    return [this.flows, this.stock, this.outflows] as readonly DaySeries<unknown>[];
  }

  private startTracking(): { whole: Set<number>; delta: Set<number> } {
    if (!this.stored) {
      this.stored = { whole: new Set(), delta: new Set() };
      for (const series of this.series) series.trackSinceWhole();
    }
    return this.stored;
  }

  drainChanges(): Map<string, string | null> {
    const chunks = new Set([...this.flows.takeChangedChunks(), ...this.stock.takeChangedChunks(), ...this.outflows.takeChangedChunks()]);
    const out = new Map<string, string | null>();
    const stored = this.startTracking();
    // An older chunk's delta is folded into its whole part once a later chunk changes: days rarely
    // change after their chunk has passed, and every delta left behind is a field in Redis.
    const newest = Math.max(...chunks);
    for (const chunk of stored.delta) if (chunk < newest) chunks.add(chunk);
    for (const chunk of chunks) {
      const delta = stored.whole.has(chunk) && chunk === newest ? this.deltaText(chunk) : undefined;
      if (delta !== undefined) {
        out.set(`${chunk}${DELTA_SUFFIX}`, delta);
        stored.delta.add(chunk);
        continue;
      }
      // The text of encodeState(StoredChunk), joined from each series' kept day texts (day-series.ts);
      // the outflows are encoded whole, as their prefix depends on every id of the chunk (cheap: ids only).
      const texts = [this.flows.chunkText(chunk), this.stock.chunkText(chunk), this.outflowsText(chunk)];
      const whole = texts.every((t) => t === null) ? null : `[${texts.map((t) => t ?? '[]').join(',')}]`;
      out.set(String(chunk), whole);
      if (stored.delta.delete(chunk)) out.set(`${chunk}${DELTA_SUFFIX}`, null);
      if (whole === null) stored.whole.delete(chunk);
      else stored.whole.add(chunk);
      for (const series of this.series) series.writtenWhole(chunk);
    }
    return out;
  }

  /**
   * The chunk's days changed since it was written whole, as `[flows, stock, outflows]` with the
   * outflow ids written out (as first stored); undefined when the chunk is to be written whole:
   * it lost days since (pruned), or the changed days are too many for a delta.
   */
  private deltaText(chunk: number): string | undefined {
    const changed = this.series.map((series) => series.changedSinceWhole(chunk));
    if (changed.some((days) => days === undefined)) return undefined;
    const held = this.series.reduce((n, series) => n + series.daysIn(chunk), 0);
    if (!writesDelta(held, changed.reduce((n, days) => n + days!.length, 0))) return undefined;
    const [flows, stock, outflows] = changed as number[][];
    return `[${this.flows.daysText(flows!)},${this.stock.daysText(stock!)},${this.outflows.daysText(outflows!, (place, ids) => JSON.stringify([place, ids]))}]`;
  }

  /** The chunk's StoredOutflows as text, `[prefix, width, [[place, [tail, ...]], ...]]`; null when it has no outflows. */
  private outflowsText(chunk: number): string | null {
    let coding = this.outflowCodings?.get(chunk);
    let misfit = coding === undefined;
    const write = (place: number, ids: string[]): string => {
      if (misfit || !ids.every((id) => fitsCoding(coding!, id))) {
        misfit = true;
        return '';
      }
      return JSON.stringify([place, ids.map((id) => encodeId(coding!, id))]);
    };
    let days = this.outflows.chunkText(chunk, write);
    if (days !== null && misfit) {
      // A new id the coding cannot write (or no coding yet): one for all the chunk's ids, every day written again.
      coding = roomyCoding(this.outflows.chunkEntries(chunk).flatMap(([, ids]) => ids as string[]));
      misfit = false;
      this.outflows.forgetTexts(chunk);
      days = this.outflows.chunkText(chunk, write);
    }
    if (days === null) {
      this.outflowCodings?.delete(chunk);
      return null;
    }
    (this.outflowCodings ??= new Map()).set(chunk, coding!);
    return `[${JSON.stringify(coding![0])},${coding![1]},${days}]`;
  }

  /** A chunk's whole part, or its delta part (restored after it, producer-state.ts: its days override the whole part's). */
  restorePart(part: string, text: string): void {
    const [flows, stock, outflows] = decodeState<StoredChunk>(text);
    const fromDelta = part.endsWith(DELTA_SUFFIX);
    const chunk = Number(fromDelta ? part.slice(0, -DELTA_SUFFIX.length) : part);
    const stored = this.startTracking();
    (fromDelta ? stored.delta : stored.whole).add(chunk);
    this.flows.restoreEntries(chunk, flows, fromDelta);
    this.stock.restoreEntries(chunk, stock, fromDelta);
    this.outflows.restoreEntries(chunk, outflowEntries(outflows), fromDelta);
  }
}
