/**
 * Idempotence without a Redis key per report: the producer's state remembers the reports it
 * already includes, each with the result its first delivery got, so a redelivered report changes
 * nothing and gets back that very result. Bounded by the producer's own clock, as the in-memory
 * store is (SEEN_WINDOW_MS): a report is forgotten once the clock has moved on past the window
 * from the clock at which it was applied. Kafka redelivers from the last committed offset, close
 * behind the first delivery, well inside the window.
 *
 * Saved in one part per APPLIED_SPAN_DAYS days of the clock at which reports were applied, and
 * forgetting drops whole spans. A batch adds reports to the current span only, and writes them in
 * the span's delta part (`<span>+`: the reports added since the span's part was last written whole)
 * until they number d with d² > 2n (n the span's reports), when the span is written whole again and
 * the delta removed (delta-parts.ts). Rewriting the current span on every save was the largest
 * text a live save sent (~800 characters on simulate traffic).
 */
import { DAY_MS } from '../../domain/time.ts';
import { decodeState, encodeState, type StateCell } from './cell.ts';
import { DELTA_SUFFIX, writesDelta } from './delta-parts.ts';
import { decodeId, encodeId, fitsCoding, roomyCoding, type IdCoding, type IdTail } from './id-lists.ts';

export interface Applied<R> {
  reportId: string;
  /** The producer's clock after the report was applied. */
  clock: number;
  result: R;
}

/** How a result is written compactly; its reportId and clock are stored beside it, so it need not repeat them. */
export interface ResultCodec<R> {
  encode(result: R): unknown;
  decode(stored: unknown, reportId: string, clock: number): R;
}

/** Days of clock per stored part: few enough fields per producer, small enough rewrites per batch. */
export const APPLIED_SPAN_DAYS = 4;

const SPAN_MS = APPLIED_SPAN_DAYS * DAY_MS;
const spanOf = (clock: number): number => Math.floor(clock / SPAN_MS);

/**
 * A span as stored: `[codings, [[coding index, id tail, clock - span start, stored result], ...]]`,
 * the report ids coded per family (id-lists.ts: "RCP-16-00023541" as 0, 23541 under
 * ["RCP-16-000", 5]) and each clock from the start of its span (the part's name), which takes
 * nine digits instead of thirteen. First written as `[[reportId, clock, stored result], ...]`,
 * which still reads (an entry's first element is then text, not a coding).
 */
type StoredSpan = [codings: IdCoding[], entries: [coding: number, tail: IdTail, sinceSpan: number, result: unknown][]];
type StoredSpanV1 = [reportId: string, clock: number, result: unknown][];
/** A span's delta part: the reports added since the span was written whole, uncoded, in order. */
type StoredSpanDelta = [reportId: string, sinceSpan: number, result: unknown][];

/**
 * A remembered report as held: its clock alone when its stored result is a plain 0 (no checks
 * fired, no licence: most reports), else its clock and its stored result's text.
 */
type Held = number | { clock: number; text: string };

const isPlainZero = (stored: unknown): boolean => stored === 0 && !Object.is(stored, -0);

/** An id's family: the id without its trailing digits ("RCP-16-" of "RCP-16-00023541"). */
const familyOf = (id: string): string => id.replace(/[0-9]+$/, '');

/**
 * The reports of one span in application order, and each one's entry as last written (undefined
 * until written, or when its coding changed): the current span is saved again with each batch,
 * which then writes only its new reports and joins the rest. `texts` may be shorter than `ids`
 * (what lies past its end is not written yet): a report is kept without a slot of its own, so a
 * state that is never saved (an in-memory replay) fills none.
 */
interface Span {
  ids: string[];
  clocks: number[];
  texts: (string | undefined)[];
}

/** Drops a list's first n items in place: shift for one (the usual case) allocates nothing, where splice makes a list of what it removes. */
function dropFront(list: unknown[], n: number): void {
  if (n === 1) list.shift();
  else if (n > 0) list.splice(0, n);
}

/** A span's codings as last written: one per family, the family's index among them. */
interface SpanCodings {
  codings: IdCoding[];
  byFamily: Map<string, number>;
}

export class AppliedReports<R> implements StateCell {
  /**
   * reportId → the report's clock and its result as written (JSON), or for a plain 0 (most
   * reports: no checks fired, no licence) the clock alone. Kept as text, not as the result: a
   * producer holds some fifty of these (two weeks of its reports), and a result with fired checks
   * as lists took ~1.5 KB of heap where its text takes a third; the text is decoded only when a
   * report is delivered again, which is rare.
   */
  private readonly byId = new Map<string, Held>();
  /**
   * span of clock → the reports applied at a clock in that span, in application order, which is
   * clock order: the producer's clock never goes back. So the oldest reports are at the front of
   * the lowest span, and forgetting takes them from there.
   */
  private readonly bySpan = new Map<number, Span>();
  /** Made by the first save: a state that is never saved (an in-memory replay) holds none. */
  private codingsOf: Map<number, SpanCodings> | undefined;
  /**
   * Per span, how many of its reports (from the front) its whole part as stored holds, the rest
   * being in its delta part; none for a span whose stored part no longer matches its front (reports
   * forgotten since), which is then written whole. Made by the first save or restore.
   */
  private wholeCount: Map<number, number> | undefined;
  /** Spans whose delta part is in storage, so a save removes only what is there. */
  private deltaStored: Set<number> | undefined;
  /** The keys of bySpan, ascending. */
  private readonly spans: number[] = [];
  private readonly changedSpans = new Set<number>();
  /** The span last recorded as changed, while that record stands: a span's reports need not record it again each. */
  private lastChangedSpan = Number.NaN;

  constructor(
    private readonly windowMs: number,
    /** How a result is written; without one, as it is. */
    private readonly codec?: ResultCodec<R>,
  ) {}

  get(reportId: string): Applied<R> | undefined {
    const held = this.byId.get(reportId);
    if (held === undefined) return undefined;
    const clock = typeof held === 'number' ? held : held.clock;
    // Through its text even when not yet made: what comes back shares nothing with what is kept.
    const stored = typeof held === 'number' ? 0 : decodeState<unknown>(this.resultText(held));
    return { reportId, clock, result: this.codec ? this.codec.decode(stored, reportId, clock) : (stored as R) };
  }

  /** Remembers a first delivery's result, then forgets what the clock has left behind. */
  remember(reportId: string, clock: number, result: R): void {
    const stored: unknown = this.codec ? this.codec.encode(result) : result;
    // Its text made now (see byId): one report in five has a result other than 0.
    this.keep(reportId, clock, AppliedReports.heldOf(clock, stored));
    const span = spanOf(clock);
    if (span !== this.lastChangedSpan) {
      this.changedSpans.add(span);
      this.lastChangedSpan = span;
    }
    this.forgetBefore(clock - this.windowMs);
  }

  private keep(reportId: string, clock: number, held: Held): void {
    this.byId.set(reportId, held);
    const span = this.spanOf(spanOf(clock));
    span.ids.push(reportId);
    span.clocks.push(clock);
  }

  private spanOf(span: number): Span {
    let held = this.bySpan.get(span);
    if (!held) {
      this.bySpan.set(span, (held = { ids: [], clocks: [], texts: [] }));
      this.spans.push(span);
      this.spans.sort((a, b) => a - b);
    }
    return held;
  }

  private forgetBefore(keepFrom: number): void {
    while (this.spans.length > 0) {
      const span = this.spans[0]!;
      const { ids, clocks, texts } = this.bySpan.get(span)!;
      let gone = 0;
      while (gone < ids.length && clocks[gone]! < keepFrom) this.byId.delete(ids[gone++]!);
      if (gone === 0) return;
      this.changedSpans.add(span);
      this.wholeCount?.delete(span);
      if (gone < ids.length) {
        dropFront(ids, gone);
        dropFront(clocks, gone);
        dropFront(texts, Math.min(gone, texts.length));
        return;
      }
      this.bySpan.delete(span);
      this.codingsOf?.delete(span);
      this.spans.shift();
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    const wholeCount = (this.wholeCount ??= new Map());
    const deltaStored = (this.deltaStored ??= new Set());
    // An older span's delta is folded into its whole part once a later span has reports: every
    // delta left behind would stay a field in Redis until its span is forgotten.
    const newest = Math.max(...this.changedSpans);
    for (const span of deltaStored) {
      if (span < newest) {
        this.changedSpans.add(span);
        wholeCount.delete(span);
      }
    }
    for (const span of this.changedSpans) {
      const held = this.bySpan.get(span);
      const n = held?.ids.length ?? 0;
      const whole = wholeCount.get(span);
      if (held !== undefined && whole !== undefined && writesDelta(n, n - whole)) {
        out.set(`${span}${DELTA_SUFFIX}`, this.deltaText(span, held, whole));
        deltaStored.add(span);
        continue;
      }
      if (held !== undefined && whole === n) continue;
      out.set(String(span), held === undefined ? null : this.spanText(span, held));
      if (deltaStored.delete(span)) out.set(`${span}${DELTA_SUFFIX}`, null);
      if (held === undefined) wholeCount.delete(span);
      else wholeCount.set(span, n);
    }
    this.changedSpans.clear();
    this.lastChangedSpan = Number.NaN;
    return out;
  }

  /** The span's reports from `from` on, as its delta part. */
  private deltaText(span: number, held: Span, from: number): string {
    const start = span * SPAN_MS;
    const parts: string[] = [];
    for (let i = from; i < held.ids.length; i += 1) {
      const id = held.ids[i]!;
      parts.push(`[${JSON.stringify(id)},${encodeState(held.clocks[i]! - start)},${this.resultText(this.byId.get(id)!)}]`);
    }
    return `[${parts.join(',')}]`;
  }

  /**
   * The text of encodeState(StoredSpan), joined from the entries kept since the last save. The
   * span's codings are kept too while new ids fit them: a family first seen gets a coding of its
   * own, appended; a family with an id its coding cannot write gets a new one, and its entries are
   * written again. Any codings the ids fit read back the same ids.
   */
  private spanText(span: number, held: Span): string {
    const { ids, clocks, texts } = held;
    const codingsOf = (this.codingsOf ??= new Map<number, SpanCodings>());
    let coded = codingsOf.get(span);
    if (!coded) codingsOf.set(span, (coded = { codings: [], byFamily: new Map() }));
    let recode: Set<string> | undefined;
    for (let i = 0; i < ids.length; i += 1) {
      if (texts[i] !== undefined) continue;
      const family = familyOf(ids[i]!);
      const at = coded.byFamily.get(family);
      if (at === undefined || !fitsCoding(coded.codings[at]!, ids[i]!)) (recode ??= new Set()).add(family);
    }
    if (recode) {
      const members = new Map<string, string[]>();
      for (let i = 0; i < ids.length; i += 1) {
        const family = familyOf(ids[i]!);
        if (!recode.has(family)) continue;
        texts[i] = undefined;
        const list = members.get(family);
        if (list) list.push(ids[i]!);
        else members.set(family, [ids[i]!]);
      }
      for (const [family, list] of members) {
        const at = coded.byFamily.get(family) ?? coded.codings.length;
        coded.codings[at] = roomyCoding(list);
        coded.byFamily.set(family, at);
      }
    }
    const start = span * SPAN_MS;
    for (let i = 0; i < ids.length; i += 1) {
      if (texts[i] !== undefined) continue;
      const id = ids[i]!;
      const at = coded.byFamily.get(familyOf(id))!;
      texts[i] = `[${at},${JSON.stringify(encodeId(coded.codings[at]!, id))},${encodeState(clocks[i]! - start)},${this.resultText(this.byId.get(id)!)}]`;
    }
    return `[${JSON.stringify(coded.codings)},[${texts.join(',')}]]`;
  }

  private resultText(held: Held): string {
    return typeof held === 'number' ? '0' : held.text;
  }

  /** What is kept of a stored result: the clock alone for a plain 0, else its text. */
  private static heldOf(clock: number, stored: unknown): Held {
    return isPlainZero(stored) ? clock : { clock, text: encodeState(stored) };
  }

  restorePart(part: string, text: string): void {
    if (part.endsWith(DELTA_SUFFIX)) {
      // Read after the span's whole part (producer-state.ts), so its reports follow that part's.
      const span = Number(part.slice(0, -DELTA_SUFFIX.length));
      const start = span * SPAN_MS;
      for (const [reportId, sinceSpan, stored] of decodeState<StoredSpanDelta>(text)) this.keep(reportId, start + sinceSpan, AppliedReports.heldOf(start + sinceSpan, stored));
      (this.deltaStored ??= new Set()).add(span);
      return;
    }
    const data = decodeState<StoredSpan | StoredSpanV1>(text);
    (this.wholeCount ??= new Map()).set(Number(part), data.length === 0 ? 0 : typeof data[0]![0] === 'string' ? data.length : (data as StoredSpan)[1].length);
    if (data.length === 0) return;
    if (typeof data[0]![0] === 'string') {
      for (const [reportId, clock, stored] of data as StoredSpanV1) this.keep(reportId, clock, AppliedReports.heldOf(clock, stored));
      return;
    }
    const [codings, entries] = data as StoredSpan;
    const start = Number(part) * SPAN_MS;
    for (const [coding, tail, sinceSpan, stored] of entries) this.keep(decodeId(codings[coding]!, tail), start + sinceSpan, AppliedReports.heldOf(start + sinceSpan, stored));
  }
}
