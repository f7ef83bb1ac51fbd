/**
 * Idempotence without a Redis key per report: the producer's state remembers the reports it
 * already includes, each with the result its first delivery got, so a redelivered report changes
 * nothing and gets back that very result. Bounded by the producer's own clock, as the in-memory
 * store is (SEEN_WINDOW_MS): a report is forgotten once the clock has moved on past the window
 * from the clock at which it was applied. Kafka redelivers from the last committed offset, close
 * behind the first delivery, well inside the window.
 *
 * Saved in one part per APPLIED_SPAN_DAYS days of the clock at which reports were applied: a batch
 * rewrites only the current span's part, and forgetting drops whole spans.
 */
import { DAY_MS } from '../../domain/time.ts';
import { decodeState, encodeState, type StateCell } from './cell.ts';
import { decodeId, encodeId, familyCodings, type IdCoding, type IdTail } from './id-lists.ts';

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

/**
 * A remembered report as held: its clock alone when its stored result is a plain 0 (no checks
 * fired, no licence: most reports), else its clock and its stored result, which a save replaces by
 * its text.
 */
type Held = number | { clock: number; stored?: unknown; text?: string };

/** A span's reports from `from` on: those before it are forgotten, dropped from the lists at the next save. */
interface Span {
  span: number;
  ids: string[];
  clocks: number[];
  from: number;
}

const isPlainZero = (stored: unknown): boolean => stored === 0 && !Object.is(stored, -0);

export class AppliedReports<R> implements StateCell {
  /**
   * reportId → the report's clock and its result as written (JSON). Kept as text once saved, not
   * as the result: a producer holds some fifty of these (two weeks of its reports), and a result
   * with fired checks as objects took ~1 KB of heap where its text takes a third; the text is
   * decoded only when a report is delivered again, which is rare. Until the first save the text is
   * not made (making it on every report was a fifth of the balance book's CPU, and an in-memory
   * replay never saves): the codec's stored form is kept (fresh lists, owned here) or, for a
   * plain 0, the clock alone.
   */
  private readonly byId = new Map<string, Held>();
  /**
   * The reports applied at a clock in each span, in application order, which is clock order: the
   * producer's clock never goes back. Spans ascending, so the oldest reports are at the front of
   * the first span, and forgetting takes them from there. An array of spans rather than a Map, and
   * a front index rather than splicing: every report appends to the last span and forgets about one
   * report from the first, and looking the span up and shifting its lists cost more than the rest.
   */
  private readonly spans: Span[] = [];
  /**
   * The spans changed since the last save. The last one added is kept aside, as every report of a
   * batch adds the same span again.
   */
  private readonly changedSpans = new Set<number>();
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
    // Without a codec the result itself would be kept, which its caller may still change: written now.
    const span = this.keep(reportId, clock, isPlainZero(stored) ? clock : this.codec ? { clock, stored } : { clock, text: encodeState(stored) });
    if (span.span !== this.lastChangedSpan) {
      this.changedSpans.add(span.span);
      this.lastChangedSpan = span.span;
    }
    const first = this.spans[0]!;
    // Most reports find nothing to forget: one comparison, before any call.
    if (first.clocks[first.from]! < clock - this.windowMs) this.forgetBefore(clock - this.windowMs);
  }

  private keep(reportId: string, clock: number, held: Held): Span {
    this.byId.set(reportId, held);
    const span = this.spanAt(spanOf(clock));
    span.ids.push(reportId);
    span.clocks.push(clock);
    return span;
  }

  /** The span's entry, made if missing: the last one in clock order, or (restoring) anywhere. */
  private spanAt(span: number): Span {
    const spans = this.spans;
    const last = spans[spans.length - 1];
    if (last !== undefined && last.span === span) return last;
    let at = spans.length;
    while (at > 0 && spans[at - 1]!.span > span) at -= 1;
    if (at > 0 && spans[at - 1]!.span === span) return spans[at - 1]!;
    const made: Span = { span, ids: [], clocks: [], from: 0 };
    spans.splice(at, 0, made);
    return made;
  }

  private forgetBefore(keepFrom: number): void {
    const spans = this.spans;
    while (spans.length > 0) {
      const first = spans[0]!;
      const { ids, clocks } = first;
      let gone = first.from;
      while (gone < ids.length && clocks[gone]! < keepFrom) this.byId.delete(ids[gone++]!);
      if (gone === first.from) return;
      this.changedSpans.add(first.span);
      if (gone < ids.length) {
        first.from = gone;
        return;
      }
      spans.shift();
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const span of this.changedSpans) {
      const held = this.spans.find((s) => s.span === span);
      out.set(String(span), held === undefined ? null : this.spanText(held));
    }
    this.changedSpans.clear();
    this.lastChangedSpan = Number.NaN;
    return out;
  }

  /** The text of encodeState(StoredSpan), joined from the kept result texts. */
  private spanText(held: Span): string {
    // The forgotten front goes now: the lists are copied here anyway.
    if (held.from > 0) {
      held.ids.splice(0, held.from);
      held.clocks.splice(0, held.from);
      held.from = 0;
    }
    const { ids, clocks } = held;
    const { codings, indexOf } = familyCodings(ids);
    const start = held.span * SPAN_MS;
    const entries = ids.map((id, i) => {
      const coding = indexOf.get(id)!;
      return `[${coding},${JSON.stringify(encodeId(codings[coding]!, id))},${encodeState(clocks[i]! - start)},${this.resultText(this.byId.get(id)!)}]`;
    });
    return `[${JSON.stringify(codings)},[${entries.join(',')}]]`;
  }

  /** A stored result's text, made once: the current span is saved again with each batch. */
  private resultText(held: Held): string {
    if (typeof held === 'number') return '0';
    if (held.text === undefined) {
      held.text = encodeState(held.stored);
      delete held.stored;
    }
    return held.text;
  }

  /** What restoring keeps of a stored result: the clock alone for a plain 0, else its text. */
  private static heldOf(clock: number, stored: unknown): Held {
    return isPlainZero(stored) ? clock : { clock, text: encodeState(stored) };
  }

  restorePart(part: string, text: string): void {
    const data = decodeState<StoredSpan | StoredSpanV1>(text);
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
