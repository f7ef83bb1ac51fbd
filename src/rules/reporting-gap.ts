/**
 * reporting-gap: a producer with a regular cadence goes silent for far longer than its cadence
 * allows. Silence has no report to judge it on, so every report of the producer (any kind) opens a
 * gap after it, due at report + allowed gap (reporting-cadence.ts); a later report inside that
 * time closes it, and a gap still open when the watermark passes its due time is the finding.
 *
 * One timer per producer, kept at or before the earliest open gap's due time, not one per gap:
 * nearly every report closes the gap before it and opens one after it, and moving a timer for
 * each was a set and a cancel per report. The timer judges every gap due when it fires (in the
 * same firing pass that would have fired the gap's own timer) and is set again at the next one.
 *
 * Only event times decide: a gap is silent iff no report has an occurredAt in (anchor, due], and
 * the watermark guarantees every report up to due (within the allowed lateness) has been read when
 * the timer fires. So the verdict does not depend on when the timer fires or in what order the
 * reports came, and a replay gives the live detector's alerts. A timer not yet due when a recording
 * ends never fires, live or in replay. Producer-level: one finding per producer and gap, whose
 * subject is the last report before the silence.
 */
import { DAY_MS, dayOf, iso } from '../domain/time.ts';
import { fixed, pct } from './format.ts';
import { judgeCadence, reportingGapParams, type Cadence, type ReportingGapParams } from './reporting-cadence.ts';
import { isAfter, ReportingHistory, type OpenGap, type ReportRef } from './reporting-gap-history.ts';
import { defineRule, type AlertDraft, type RuleState } from './rule.ts';
import { clampScore } from './severity.ts';

// Made once: asked for on every report, a fresh arrow each time would be one more object per report.
const newHistory = (): ReportingHistory => new ReportingHistory();
const historyOf = (state: RuleState): ReportingHistory => state.cell('history', newHistory);
/** The producer's one timer. States saved before it may hold a timer per gap, `after:<reportId>` naming its gap in the payload, which still fire (onTimer). */
const TIMER = 'gaps';

function learnCadence(history: ReportingHistory, day: number, p: ReportingGapParams): Cadence | null {
  const verdict = judgeCadence(history.allDays, p, history.countUpTo(day));
  if (verdict.kind === 'not-enough-history') return null;
  const { gaps, medianGapDays, usualLongestGapDays, allowedGapDays, allowedBy } = verdict;
  return { gaps, medianGapDays, usualLongestGapDays, allowedGapDays, allowedBy };
}

/** The cadence the producer had up to the anchor's day; null while there is not enough history. */
const cadenceAt = (history: ReportingHistory, anchor: ReportRef, p: ReportingGapParams): Cadence | null => history.cadenceOn(dayOf(anchor.at), p, learnCadence);

/** Opens the gap after `anchor` if the producer has a cadence to judge it by. */
function openGapAfter(history: ReportingHistory, anchor: ReportRef, next: number | null, p: ReportingGapParams): void {
  const cadence = cadenceAt(history, anchor, p);
  if (cadence) history.openGap({ at: anchor.at, reportId: anchor.reportId, next, dueAt: anchor.at + cadence.allowedGapDays * DAY_MS, cadence });
}

/** A gap whose next report came within its allowed time: it is closed, never a finding. */
const answered = (gap: OpenGap): boolean => gap.next !== null && gap.next <= gap.dueAt;

/**
 * Keeps the producer's timer at or before the earliest open gap's due time. A timer earlier than
 * that stays: it fires, finds nothing due, and is set again (cheaper than moving it on every report).
 */
function keepTimer(history: ReportingHistory, state: RuleState): void {
  let earliest = Infinity;
  for (const gap of history.open) if (gap.dueAt < earliest) earliest = gap.dueAt;
  if (earliest === Infinity) return;
  const at = state.timerDueAt(TIMER);
  if (at === undefined || at > earliest) state.setTimer(TIMER, earliest);
}

/**
 * Brings the open gaps and the timer in line with what is known: a gap whose next report came
 * within its allowed time is closed; when a late report added a day, cadences are learned again.
 */
function settle(history: ReportingHistory, state: RuleState, p: ReportingGapParams, relearn: boolean): void {
  // Newest first: closing a gap removes it from the list in place (reporting-gap-history.ts), which
  // leaves the gaps before it where they are; each gap's verdict depends on no other gap.
  const open = history.open;
  for (let i = open.length - 1; i >= 0; i -= 1) {
    const gap = open[i]!;
    if (relearn) {
      const cadence = cadenceAt(history, gap, p);
      if (!cadence) {
        history.closeGap(gap.reportId);
        continue;
      }
      const dueAt = gap.at + cadence.allowedGapDays * DAY_MS;
      if (dueAt !== gap.dueAt) {
        Object.assign(gap, { dueAt, cadence });
        history.touched();
      }
    }
    if (answered(gap)) history.closeGap(gap.reportId);
  }
  keepTimer(history, state);
}

const days = (x: number): string => fixed(x, 2);
const dayCount = (x: number): string => `${days(x)} ${x === 1 ? 'day' : 'days'}`;

/** How far the allowed silence is beyond the producer's usual longest gap: a daily reporter gone quiet for weeks is clearer than a monthly one a few days late. */
const scoreOf = (gap: OpenGap): number => clampScore(0.3 + 0.5 * (1 - gap.cadence.usualLongestGapDays / gap.cadence.allowedGapDays));

function findingOf(producerId: string, gap: OpenGap, p: ReportingGapParams): AlertDraft {
  const c = gap.cadence;
  const bound = c.allowedBy === 'cadence' ? `${p.factor} x its usual longest gap of ${days(c.usualLongestGapDays)} days` : c.allowedBy === 'floor' ? `the ${days(p.floorDays)}-day floor` : `the ${days(p.capDays)}-day cap`;
  return {
    findingKey: `${producerId}|${gap.reportId}`,
    score: scoreOf(gap),
    producerId,
    clientId: null,
    licenceId: null,
    subjectEventIds: [gap.reportId],
    summary: `${producerId} filed no report for more than ${days(c.allowedGapDays)} days after ${iso(gap.at)} (allowed: ${bound}; its median gap between report days is ${dayCount(c.medianGapDays)}).`,
    // Nothing here depends on when the timer fired (e.g. the watermark then), so a replay and the live detector give the same alert.
    evidence: {
      lastReportId: gap.reportId,
      lastReportAt: iso(gap.at),
      silentThrough: iso(gap.dueAt),
      allowedGapDays: days(c.allowedGapDays),
      allowedBy: c.allowedBy,
      usualLongestGapDays: days(c.usualLongestGapDays),
      quantile: pct(p.quantile),
      factor: String(p.factor),
      medianGapDays: days(c.medianGapDays),
      gapsLearned: String(c.gaps),
      floorDays: String(p.floorDays),
      capDays: String(p.capDays),
    },
    eventTime: gap.dueAt,
    windowStart: gap.at,
    windowEnd: gap.dueAt,
  };
}

export const reportingGap = defineRule({
  id: 'reporting-gap',
  version: 1,
  description: 'A producer silent far beyond its own cadence of report days, judged on the event-time watermark.',
  params: reportingGapParams,
  bands: { MEDIUM: 0.3, HIGH: 0.6, CRITICAL: 0.85 },
  evaluate({ report, state }, params) {
    const p = params();
    const history = historyOf(state);
    const ref: ReportRef = { at: report.event.occurredAt, reportId: report.event.reportId };
    const newDay = history.addDay(dayOf(ref.at));
    const latest = history.latest;
    if (!latest || isAfter(ref, latest)) {
      // The gap after the previous newest report (the only one with no next yet) has its next report.
      let before: OpenGap | undefined;
      for (const g of history.open) {
        if (g.next !== null) continue;
        before = g;
        break;
      }
      if (before) {
        before.next = ref.at;
        history.touched();
      }
      history.setLatest(ref);
      openGapAfter(history, ref, null, p);
    } else {
      // A late report inside an open gap splits it: the part before it is closed if short enough,
      // and the part after it is a gap of its own.
      const inside = history.open.find((g) => isAfter(ref, g) && g.next !== null && ref.at < g.next);
      if (inside) {
        const next = inside.next;
        inside.next = ref.at;
        history.touched();
        openGapAfter(history, ref, next, p);
      }
    }
    settle(history, state, p, newDay);
    return [];
  },
  onTimer(timer, params) {
    const history = historyOf(timer.state);
    const oneGap = timer.payload['lastReportId'];
    // Every open gap the watermark has passed (or, for a timer of one gap saved before, that gap).
    const due = history.open.filter((g) => (typeof oneGap !== 'string' || g.reportId === oneGap) && !answered(g) && g.dueAt <= timer.watermark);
    for (const gap of due) history.closeGap(gap.reportId);
    if (typeof oneGap !== 'string') keepTimer(history, timer.state);
    return due.map((gap) => findingOf(timer.producerId, gap, params()));
  },
});
