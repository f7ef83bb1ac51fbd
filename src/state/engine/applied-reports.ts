/**
 * Idempotence without a Redis key per report: the producer's state remembers the reports it
 * already includes, each with the result its first delivery got, so a redelivered report changes
 * nothing and gets back that very result. Bounded by the producer's own clock, as the in-memory
 * store is (SEEN_WINDOW_MS): a report is forgotten once the clock has moved on past the window
 * from the clock at which it was applied. Kafka redelivers from the last committed offset, close
 * behind the first delivery, well inside the window.
 *
 * Saved in one part per day of the clock at which reports were applied: a batch rewrites only the
 * current day's part, and forgetting drops whole days.
 */
import { DAY_MS } from '../../domain/time.ts';
import { decodeState, encodeState, type StateCell } from './cell.ts';

export interface Applied<R> {
  reportId: string;
  /** The producer's clock after the report was applied. */
  clock: number;
  result: R;
}

const dayOfClock = (clock: number): number => Math.floor(clock / DAY_MS);

export class AppliedReports<R> implements StateCell {
  private readonly byId = new Map<string, Applied<R>>();
  /** day of clock → reportIds applied at that clock, in application order. */
  private readonly byDay = new Map<number, string[]>();
  private readonly changedDays = new Set<number>();

  constructor(
    private readonly windowMs: number,
    /** Rebuilds a result read back from JSON (which drops undefined fields) into its full shape. */
    private readonly revive: (stored: R) => R = (stored) => stored,
  ) {}

  get(reportId: string): Applied<R> | undefined {
    return this.byId.get(reportId);
  }

  /** Remembers a first delivery's result, then forgets what the clock has left behind. */
  remember(reportId: string, clock: number, result: R): void {
    this.byId.set(reportId, { reportId, clock, result });
    const day = dayOfClock(clock);
    const ids = this.byDay.get(day);
    if (ids) ids.push(reportId);
    else this.byDay.set(day, [reportId]);
    this.changedDays.add(day);
    this.forgetBefore(clock - this.windowMs);
  }

  private forgetBefore(keepFrom: number): void {
    const firstKeptDay = dayOfClock(keepFrom);
    for (const [day, ids] of this.byDay) {
      if (day > firstKeptDay) continue;
      const kept = ids.filter((id) => {
        if (this.byId.get(id)!.clock >= keepFrom) return true;
        this.byId.delete(id);
        return false;
      });
      if (kept.length === ids.length) continue;
      if (kept.length === 0) this.byDay.delete(day);
      else this.byDay.set(day, kept);
      this.changedDays.add(day);
    }
  }

  drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    for (const day of this.changedDays) {
      const ids = this.byDay.get(day);
      out.set(String(day), ids === undefined ? null : encodeState(ids.map((id) => this.byId.get(id)!)));
    }
    this.changedDays.clear();
    return out;
  }

  restorePart(part: string, text: string): void {
    const day = Number(part);
    const ids: string[] = [];
    for (const applied of decodeState<Applied<R>[]>(text)) {
      this.byId.set(applied.reportId, { ...applied, result: this.revive(applied.result) });
      ids.push(applied.reportId);
    }
    this.byDay.set(day, ids);
  }
}
