/**
 * reporting-gap's state for one producer: its distinct report days (the cadence), its newest
 * report, and the open gaps. A gap is opened after a report (its anchor) and stays open while no
 * report with an occurredAt in (anchor, anchor + allowed gap] is known; `next` is the earliest
 * report after the anchor seen so far. Keeping the anchor's `next` rather than only "the latest
 * report" is what makes the verdict depend on event times alone: a report far past the due time
 * does not close the gap before it (the silence happened), and a late report inside it does.
 */
import { decodeState, encodeState, WHOLE, WholeCell } from '../state/engine/cell.ts';
import type { Cadence } from './reporting-cadence.ts';

/**
 * Report days kept, newest first: the largest cadenceGaps (120) plus room for gaps over the cap
 * that learning skips, so a judged anchor always has its whole window.
 */
export const REPORT_DAYS_KEPT = 160;

export interface ReportRef {
  at: number;
  reportId: string;
}

export interface OpenGap extends ReportRef {
  /** The earliest report after the anchor seen so far; null while none is known. */
  next: number | null;
  dueAt: number;
  cadence: Cadence;
}

/**
 * Saved in two parts: the report days (`days`: up to 160 numbers) and the rest (the whole part,
 * `{latest, open}`). Every report moves the newest report, but only a producer's first report of a
 * day adds a day, so most saves write the short part alone (the days were ~500 of the ~550
 * characters this cell wrote per save). First written as one part `{days, latest, open}`, which
 * still reads.
 */
interface HistoryData {
  days?: number[];
  latest: ReportRef | null;
  open: OpenGap[];
}

/** The part holding the report days. */
export const DAYS_PART = 'days';

/** Later event time wins; the same instant is ordered by reportId so every replica picks the same one. */
export const isAfter = (a: ReportRef, b: ReportRef): boolean => a.at > b.at || (a.at === b.at && a.reportId > b.reportId);

export class ReportingHistory extends WholeCell<HistoryData> {
  private days: number[] = [];
  private newest: ReportRef | null = null;
  private gaps: OpenGap[] = [];
  /** Cadences learned per anchor day from the days as they are, and the parameters they were learned with: derived, not saved. */
  private cadences = new Map<number, Cadence | null>();
  private cadencesFrom: object | undefined;
  private lastDay: number | undefined;
  private lastCadence: Cadence | null | undefined;
  /** Whether the days changed since the last save, beside WholeCell's record of any change. */
  private daysChanged = false;
  /** Read from the first form, whose whole part holds the days too: the next save writes both parts. */
  private readFirstForm = false;

  get latest(): ReportRef | null {
    return this.newest;
  }

  /** Open gaps, oldest anchor first. */
  get open(): readonly OpenGap[] {
    return this.gaps;
  }

  /**
   * The cadence up to an anchor day, as `learn` finds it from the days: remembered until a day is
   * added or the parameters change, since most reports fall on a day that already has one
   * (producers file several reports a day) and learning sorts up to 160 days. The gaps opened
   * on that day share the one cadence; nothing changes a cadence once made.
   */
  cadenceOn<P extends object>(day: number, params: P, learn: (history: ReportingHistory, day: number, params: P) => Cadence | null): Cadence | null {
    if (params !== this.cadencesFrom) {
      this.forgetCadences();
      this.cadencesFrom = params;
    }
    // Nearly every report asks for its own day's, the one asked for last: kept beside the map,
    // which is then not read (by the producer's next report it is out of the CPU's caches).
    if (day === this.lastDay) return this.lastCadence as Cadence | null;
    let cadence = this.cadences.get(day);
    // `learn` is handed what it needs rather than closing over it: asked for on every report, a
    // closure made for the call was one more object per report even when the answer is kept.
    if (cadence === undefined) this.cadences.set(day, (cadence = learn(this, day, params)));
    this.lastDay = day;
    this.lastCadence = cadence;
    return cadence;
  }

  private forgetCadences(): void {
    this.cadences.clear();
    this.lastDay = undefined;
    this.lastCadence = undefined;
  }

  /** Every report day kept, ascending. */
  get allDays(): readonly number[] {
    return this.days;
  }

  /** How many of the report days are up to and including `day`: they are the first that many of allDays. */
  countUpTo(day: number): number {
    let i = this.days.length;
    while (i > 0 && this.days[i - 1]! > day) i -= 1;
    return i;
  }

  /** Report days up to and including `day`, ascending. */
  daysUpTo(day: number): readonly number[] {
    return this.days.filter((d) => d <= day);
  }

  /** Adds a report day; returns whether it was new. Keeps the newest REPORT_DAYS_KEPT days whatever the arrival order. */
  addDay(day: number): boolean {
    let i = this.days.length;
    while (i > 0 && this.days[i - 1]! > day) i -= 1;
    if (i > 0 && this.days[i - 1] === day) return false;
    this.days.splice(i, 0, day);
    if (this.days.length > REPORT_DAYS_KEPT) this.days.splice(0, this.days.length - REPORT_DAYS_KEPT);
    this.forgetCadences();
    this.daysChanged = true;
    this.changed();
    return true;
  }

  setLatest(report: ReportRef): void {
    this.newest = report;
    this.changed();
  }

  openGap(gap: OpenGap): void {
    // Kept in anchor order; a new gap is nearly always after the newest report, so at the end.
    // Moved up in place rather than spliced in: a splice makes a list of what it removes, per report.
    const gaps = this.gaps;
    let i = gaps.length;
    while (i > 0 && isAfter(gaps[i - 1]!, gap)) {
      gaps[i] = gaps[i - 1]!;
      i -= 1;
    }
    gaps[i] = gap;
    this.changed();
  }

  /** Removes the gap in place: nearly every report closes the one before it, and a new list each time was garbage per report. */
  closeGap(reportId: string): void {
    const gaps = this.gaps;
    let kept = 0;
    for (let i = 0; i < gaps.length; i += 1) if (gaps[i]!.reportId !== reportId) gaps[kept++] = gaps[i]!;
    gaps.length = kept;
    this.changed();
  }

  /** Records a change to an open gap the caller modified in place. */
  touched(): void {
    this.changed();
  }

  find(reportId: string): OpenGap | undefined {
    return this.gaps.find((g) => g.reportId === reportId);
  }

  protected toData(): HistoryData {
    return { latest: this.newest, open: this.gaps };
  }

  protected fromData(data: HistoryData): void {
    if (data.days) {
      this.days = data.days;
      this.forgetCadences();
      this.readFirstForm = true;
    }
    this.newest = data.latest;
    this.gaps = data.open;
  }

  /** The days part when the days changed, and the whole part when anything did. */
  override drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    const days = this.daysChanged || this.readFirstForm;
    if (!this.takeChanged() && !days) return out;
    if (days) out.set(DAYS_PART, encodeState(this.days));
    out.set(WHOLE, this.toText());
    this.daysChanged = false;
    this.readFirstForm = false;
    return out;
  }

  override restorePart(part: string, text: string): void {
    if (part !== DAYS_PART) return super.restorePart(part, text);
    this.days = decodeState<number[]>(text);
    this.forgetCadences();
  }
}
