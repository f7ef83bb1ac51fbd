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

/** An entry as written: `[reportId, clock, stored result]`. */
type Entry = [reportId: string, clock: number, stored: unknown];

const isPlainZero = (stored: unknown): boolean => stored === 0 && !Object.is(stored, -0);

const spanOf = (clock: number): number => Math.floor(clock / (APPLIED_SPAN_DAYS * DAY_MS));

export class AppliedReports<R> implements StateCell {
  /**
   * reportId → the report's entry as it is written, `[reportId, clock, stored result]` JSON. Kept
   * as text, not as the result: a producer holds some fifty of these (two weeks of its reports),
   * and a result with fired checks as objects took ~1 KB of heap where its text takes a third; the
   * text is decoded only when a report is delivered again, which is rare. It also makes a save of
   * the current span a join of texts already made.
   *
   * Until the entry is first saved, its text is not made (making it on every report was a fifth
   * of the balance book's CPU, and an in-memory replay never saves): a number is the clock of an
   * entry whose stored result is a plain 0 (no checks fired, no licence: most reports), a list is
   * the entry as the codec wrote it (fresh lists, owned here). A save replaces either by its text.
   */
  private readonly byId = new Map<string, string | number | Entry>();
  /**
   * span of clock → the reports applied at a clock in that span, in application order, which is
   * clock order: the producer's clock never goes back. So the oldest reports are at the front of
   * the lowest span, and forgetting takes them from there.
   */
  private readonly bySpan = new Map<number, { ids: string[]; clocks: number[] }>();
  /** The keys of bySpan, ascending. */
  private readonly spans: number[] = [];
  private readonly changedSpans = new Set<number>();

  constructor(
    private readonly windowMs: number,
    /** How a result is written; without one, as it is. */
    private readonly codec?: ResultCodec<R>,
  ) {}

  get(reportId: string): Applied<R> | undefined {
    const held = this.byId.get(reportId);
    if (held === undefined) return undefined;
    // Through its text even when not yet made: what comes back shares nothing with what is kept.
    const [, clock, stored] = typeof held === 'number' ? [reportId, held, 0] : decodeState<Entry>(typeof held === 'string' ? held : encodeState(held));
    return { reportId, clock, result: this.codec ? this.codec.decode(stored, reportId, clock) : (stored as R) };
  }

  /** Remembers a first delivery's result, then forgets what the clock has left behind. */
  remember(reportId: string, clock: number, result: R): void {
    const stored: unknown = this.codec ? this.codec.encode(result) : result;
    // Without a codec the result itself would be kept, which its caller may still change: written now.
    this.keep(reportId, clock, isPlainZero(stored) ? clock : this.codec ? [reportId, clock, stored] : encodeState([reportId, clock, stored]));
    this.changedSpans.add(spanOf(clock));
    this.forgetBefore(clock - this.windowMs);
  }

  private keep(reportId: string, clock: number, held: string | number | Entry): void {
    this.byId.set(reportId, held);
    const span = this.spanOf(spanOf(clock));
    span.ids.push(reportId);
    span.clocks.push(clock);
  }

  private spanOf(span: number): { ids: string[]; clocks: number[] } {
    let held = this.bySpan.get(span);
    if (!held) {
      this.bySpan.set(span, (held = { ids: [], clocks: [] }));
      this.spans.push(span);
      this.spans.sort((a, b) => a - b);
    }
    return held;
  }

  private forgetBefore(keepFrom: number): void {
    while (this.spans.length > 0) {
      const span = this.spans[0]!;
      const { ids, clocks } = this.bySpan.get(span)!;
      let gone = 0;
      while (gone < ids.length && clocks[gone]! < keepFrom) this.byId.delete(ids[gone++]!);
      if (gone === 0) return;
      this.changedSpans.add(span);
      if (gone < ids.length) {
        ids.splice(0, gone);
        clocks.splice(0, gone);
        return;
      }
      this.bySpan.delete(span);
      this.spans.shift();
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const span of this.changedSpans) {
      const held = this.bySpan.get(span);
      // The text of encodeState([[reportId, clock, stored result], ...]), joined from the kept entries.
      out.set(String(span), held === undefined ? null : `[${held.ids.map((id) => this.entryText(id)).join(',')}]`);
    }
    this.changedSpans.clear();
    return out;
  }

  /** An entry's text as written, `encodeState([reportId, clock, stored])`, made once: the current span is saved again with each batch. */
  private entryText(reportId: string): string {
    const held = this.byId.get(reportId)!;
    if (typeof held === 'string') return held;
    const text = encodeState(typeof held === 'number' ? [reportId, held, 0] : held);
    this.byId.set(reportId, text);
    return text;
  }

  restorePart(_part: string, text: string): void {
    for (const entry of decodeState<[string, number, unknown][]>(text)) this.keep(entry[0], entry[1], isPlainZero(entry[2]) ? entry[1] : encodeState(entry));
  }
}
