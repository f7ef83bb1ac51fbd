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

const spanOf = (clock: number): number => Math.floor(clock / (APPLIED_SPAN_DAYS * DAY_MS));

export class AppliedReports<R> implements StateCell {
  private readonly byId = new Map<string, Applied<R>>();
  /**
   * span of clock → reportIds applied at a clock in that span, in application order, which is
   * clock order: the producer's clock never goes back. So the oldest reports are at the front of
   * the lowest span, and forgetting takes them from there.
   */
  private readonly bySpan = new Map<number, string[]>();
  /** The keys of bySpan, ascending. */
  private readonly spans: number[] = [];
  private readonly changedSpans = new Set<number>();
  /**
   * Each report's entry as written, kept until it is forgotten: an entry never changes, so a save
   * that rewrites the current span encodes only the reports applied since the last one and joins
   * the rest. Filled only by saves, so a state that is never saved holds no text.
   */
  private readonly written = new Map<string, string>();

  constructor(
    private readonly windowMs: number,
    /** How a result is written; without one, as it is. */
    private readonly codec?: ResultCodec<R>,
  ) {}

  get(reportId: string): Applied<R> | undefined {
    return this.byId.get(reportId);
  }

  /** Remembers a first delivery's result, then forgets what the clock has left behind. */
  remember(reportId: string, clock: number, result: R): void {
    this.byId.set(reportId, { reportId, clock, result });
    this.written.delete(reportId);
    this.idsOf(spanOf(clock)).push(reportId);
    this.changedSpans.add(spanOf(clock));
    this.forgetBefore(clock - this.windowMs);
  }

  private idsOf(span: number): string[] {
    let ids = this.bySpan.get(span);
    if (!ids) {
      this.bySpan.set(span, (ids = []));
      this.spans.push(span);
      this.spans.sort((a, b) => a - b);
    }
    return ids;
  }

  private forgetBefore(keepFrom: number): void {
    while (this.spans.length > 0) {
      const span = this.spans[0]!;
      const ids = this.bySpan.get(span)!;
      let gone = 0;
      while (gone < ids.length && this.byId.get(ids[gone]!)!.clock < keepFrom) {
        this.byId.delete(ids[gone]!);
        this.written.delete(ids[gone++]!);
      }
      if (gone === 0) return;
      this.changedSpans.add(span);
      if (gone < ids.length) {
        ids.splice(0, gone);
        return;
      }
      this.bySpan.delete(span);
      this.spans.shift();
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const span of this.changedSpans) {
      const ids = this.bySpan.get(span);
      // The text of encodeState([[reportId, clock, stored result], ...]), joined from kept entries.
      out.set(String(span), ids === undefined ? null : `[${ids.map((id) => this.entryText(id)).join(',')}]`);
    }
    this.changedSpans.clear();
    return out;
  }

  private entryText(reportId: string): string {
    let text = this.written.get(reportId);
    if (text === undefined) {
      const { clock, result } = this.byId.get(reportId)!;
      text = encodeState([reportId, clock, this.codec ? this.codec.encode(result) : result]);
      this.written.set(reportId, text);
    }
    return text;
  }

  restorePart(part: string, text: string): void {
    const ids = this.idsOf(Number(part));
    for (const [reportId, clock, stored] of decodeState<[string, number, unknown][]>(text)) {
      this.byId.set(reportId, { reportId, clock, result: this.codec ? this.codec.decode(stored, reportId, clock) : (stored as R) });
      ids.push(reportId);
    }
  }
}
