import { describe, expect, it } from 'vitest';
import { DAY_MS, iso } from '../../../src/domain/time.ts';
import type { Report } from '../../../src/domain/events.ts';
import { judgeCadence, reportingGapParams } from '../../../src/rules/reporting-cadence.ts';
import { DAYS_PART, ReportingHistory } from '../../../src/rules/reporting-gap-history.ts';
import { reportingGap } from '../../../src/rules/reporting-gap.ts';
import type { AlertDraft } from '../../../src/rules/rule.ts';
import { D0, at, paramsFrom, reports } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

const DEFAULTS = reportingGapParams.parse({});
const LATENESS = 2 * DAY_MS;
const harness = (params: Record<string, unknown> = {}) => ruleHarness(reportingGap, paramsFrom(reportingGapParams, params), { allowedLatenessMs: LATENESS });

/** One report of `producerId` at each time, alternating kinds: the rule counts reports of any kind. */
const reportsAt = (producerId: string, times: readonly number[]): Report[] =>
  times.map((t, i) => (i % 3 === 0 ? reports.production({ producerId, occurredAt: t }) : i % 3 === 1 ? reports.shipments({ producerId, occurredAt: t }) : reports.inventory({ producerId, occurredAt: t })));
/** Working days (Monday-Friday) from `first` to `last`, at `hour`. D0 is a Sunday. */
const workdays = (first: number, last: number, hour = 10): number[] => {
  const out: number[] = [];
  for (let d = first; d <= last; d += 1) if ((d + 4) % 7 !== 0 && (d + 4) % 7 !== 6) out.push(at(d, hour));
  return out;
};
/** Another producer reporting daily: it moves the watermark while the one under test is silent. */
const bystander = (first: number, last: number): Report[] => reportsAt('P9', Array.from({ length: last - first + 1 }, (_, i) => at(first + i, 9)));
const byTime = (a: Report, b: Report) => a.event.occurredAt - b.event.occurredAt;
/** P1's findings: the bystander goes silent too once a test moves the watermark far ahead. */
const ofP1 = (run: { drafts: AlertDraft[] }) => run.drafts.filter((d) => d.producerId === 'P1');

describe('reporting-gap parameters', () => {
  it('defaults to 6 gaps of history, the 90th percentile of the last 30, twice it, between 21 and 45 days', () => {
    expect(DEFAULTS).toEqual({ minGaps: 6, cadenceGaps: 30, quantile: 0.9, factor: 2, floorDays: 21, capDays: 45 });
  });

  it.each([
    ['a floor above the cap', { floorDays: 50 }, 'floorDays'],
    ['a quantile under the median', { quantile: 0.4 }, 'quantile'],
    ['a factor under 1', { factor: 0.5 }, 'factor'],
    ['a fractional minimum history', { minGaps: 5.5 }, 'minGaps'],
  ])('rejects %s', (_, raw, field) => {
    const result = reportingGapParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('reporting-gap: the cadence learned from report days', () => {
  const daysEvery = (step: number, n: number) => Array.from({ length: n }, (_, i) => D0 + i * step);
  it.each<[string, number[], Record<string, unknown>, object]>([
    ['five gaps is not enough history', daysEvery(1, 6), {}, { kind: 'not-enough-history', gaps: 5, minGaps: 6 }],
    ['a daily reporter gets the three-week floor', daysEvery(1, 20), {}, { kind: 'learned', allowedGapDays: 21, allowedBy: 'floor', usualLongestGapDays: 1 }],
    ['a weekly reporter: twice 7 days is still under the floor', daysEvery(7, 10), {}, { kind: 'learned', allowedGapDays: 21, allowedBy: 'floor' }],
    ['a fortnightly reporter: twice its 14 days', daysEvery(14, 10), {}, { kind: 'learned', allowedGapDays: 28, allowedBy: 'cadence', medianGapDays: 14 }],
    ['a monthly reporter is held to the 45-day cap', daysEvery(31, 8), {}, { kind: 'learned', allowedGapDays: 45, allowedBy: 'cap' }],
    ['a lower factor lets a fortnightly reporter be judged sooner', daysEvery(14, 10), { factor: 1.5 }, { kind: 'learned', allowedGapDays: 21 }],
  ])('%s', (_, days, params, expected) => {
    expect(judgeCadence(days, reportingGapParams.parse(params))).toMatchObject(expected);
  });

  it('leaves gaps over the cap out of the learning: they are silences, not cadence', () => {
    const days = [...daysEvery(1, 7), D0 + 6 + 60, D0 + 67];
    expect(judgeCadence(days, DEFAULTS)).toMatchObject({ kind: 'learned', gaps: 7, usualLongestGapDays: 1 });
  });

  it('is not moved by one odd gap among thirty', () => {
    const days = [...daysEvery(1, 20), D0 + 19 + 30, ...Array.from({ length: 10 }, (_, i) => D0 + 50 + i)];
    expect(judgeCadence(days, DEFAULTS)).toMatchObject({ kind: 'learned', gaps: 30, usualLongestGapDays: 1, allowedGapDays: 21 });
  });
});

describe('reporting-gap: silence judged on the watermark', () => {
  const history = workdays(D0 + 1, D0 + 19); // 15 working days, last one D0+19 (a Friday)
  const last = history[history.length - 1]!;
  const due = last + 21 * DAY_MS;

  it('flags a daily reporter silent past 21 days once the watermark passes, with its last report as subject', () => {
    const run = harness();
    const mine = reportsAt('P1', history);
    run.feed(mine);
    run.feed(bystander(D0 + 20, D0 + 40));
    expect(ofP1(run)).toEqual([]); // the watermark (D0+38 09:00) is not yet at the due time
    expect(run.advanceTo(due - 1)).toEqual([]);
    const [finding, ...more] = run.advanceTo(due);
    expect(more).toEqual([]);
    const lastReport = mine[mine.length - 1]!.event;
    expect(finding).toMatchObject({ producerId: 'P1', subjectEventIds: [lastReport.reportId], findingKey: `P1|${lastReport.reportId}`, eventTime: due, windowStart: last, windowEnd: due });
    expect(finding!.evidence).toMatchObject({ lastReportAt: iso(last), silentThrough: iso(due), allowedGapDays: '21', allowedBy: 'floor', usualLongestGapDays: '2.4', gapsLearned: '14' });
    expect(finding!.summary).toBe(`P1 filed no report for more than 21 days after ${iso(last)} (allowed: the 21-day floor; its median gap between report days is 1 day).`);
    expectOneSentence(finding!.summary);
  });

  it.each<[string, number, boolean]>([
    ['the next report a minute before the allowed gap ends', due - 60_000, false],
    ['the next report exactly at the end of the allowed gap', due, false],
    ['the next report a minute after it', due + 60_000, true],
  ])('%s', (_, nextAt, fires) => {
    const run = harness();
    run.feed(reportsAt('P1', history));
    run.feed([...bystander(D0 + 20, D0 + 45), ...reportsAt('P1', [nextAt])].sort(byTime));
    run.advanceTo(due + 10 * DAY_MS);
    expect(ofP1(run)).toHaveLength(fires ? 1 : 0);
  });

  it('says nothing about a producer with too little history to have a cadence', () => {
    const run = harness();
    run.feed(reportsAt('P1', workdays(D0 + 1, D0 + 7))); // five report days, four gaps
    run.feed(bystander(D0 + 8, D0 + 100));
    run.advanceTo(at(D0 + 200));
    expect(ofP1(run)).toEqual([]);
  });

  it('counts several reports on one day as one report day', () => {
    const sameDay = (d: number) => [at(d, 8), at(d, 9), at(d, 10), at(d, 15)];
    const run = harness();
    run.feed(reportsAt('P1', [1, 2, 3, 4, 5].flatMap((k) => sameDay(D0 + k))));
    run.advanceTo(at(D0 + 60));
    expect(ofP1(run)).toEqual([]); // four gaps of one day: not enough history, whatever the report count
    const run2 = harness();
    run2.feed(reportsAt('P1', [1, 2, 3, 4, 5, 6, 7].flatMap((k) => sameDay(D0 + k))));
    run2.advanceTo(at(D0 + 60));
    expect(ofP1(run2)).toHaveLength(1);
    expect(ofP1(run2)[0]!.evidence).toMatchObject({ gapsLearned: '6', usualLongestGapDays: '1', lastReportAt: iso(at(D0 + 7, 15)) });
  });

  it('does not flag a monthly filer within 45 days, and does past them', () => {
    // Filed between the 1st and the 10th: gaps of 22 to 40 days are all ordinary.
    const monthly = [0, 40, 62, 100, 125, 160, 185, 220].map((d) => at(D0 + d));
    const run = harness();
    run.feed(reportsAt('P1', monthly));
    run.feed(reportsAt('P1', [at(D0 + 262)])); // 42 days later
    run.advanceTo(at(D0 + 262) + 44 * DAY_MS);
    expect(ofP1(run)).toEqual([]);
    run.advanceTo(at(D0 + 262) + 45 * DAY_MS);
    expect(ofP1(run)).toHaveLength(1);
    expect(ofP1(run)[0]!.evidence).toMatchObject({ allowedBy: 'cap', allowedGapDays: '45' });
  });

  it('never fires a timer the watermark has not passed when the recording ends', () => {
    const run = harness();
    run.feed(reportsAt('P1', history));
    run.feed(bystander(D0 + 20, D0 + 41)); // the watermark ends at D0+39 09:00, before the due time
    expect(ofP1(run)).toEqual([]);
  });
});

describe('reporting-gap: resumption', () => {
  it('a producer back after a flagged silence starts a fresh wait, and a second silence is a second finding', () => {
    const first = workdays(D0 + 1, D0 + 19);
    const back = workdays(D0 + 55, D0 + 80);
    const run = harness();
    run.feed([...reportsAt('P1', [...first, ...back]), ...bystander(D0 + 20, D0 + 130)].sort(byTime));
    run.advanceTo(at(D0 + 140));
    expect(ofP1(run).map((d) => d.evidence['lastReportAt'])).toEqual([iso(first[first.length - 1]!), iso(back[back.length - 1]!)]);
    expect(new Set(ofP1(run).map((d) => d.findingKey)).size).toBe(2);
  });

  it('flags the silence even when the report that ends it comes before the watermark reaches the due time', () => {
    // P1 alone: its own return moves the watermark past the old due time in the same step.
    const silentThenBack = [...workdays(D0 + 1, D0 + 19), at(D0 + 60), at(D0 + 61)];
    const run = harness();
    run.feed(reportsAt('P1', silentThenBack));
    expect(ofP1(run)).toHaveLength(1);
    expect(ofP1(run)[0]!.evidence['lastReportAt']).toBe(iso(at(D0 + 19, 10)));
  });
});

describe('reporting-gap: late and out-of-order reports within the allowed lateness', () => {
  const daily = Array.from({ length: 40 }, (_, i) => at(D0 + i, 8 + (i % 9)));

  /** Reports delivered with up to `maxDelayMs` of delay: sorted by (occurredAt + delay). */
  const delivered = (list: Report[], maxDelayMs: number): Report[] => {
    const delay = (r: Report, i: number) => ((i * 7919) % 97) / 96 * maxDelayMs;
    return list.map((r, i) => ({ r, t: r.event.occurredAt + delay(r, i) })).sort((a, b) => a.t - b.t).map((x) => x.r);
  };

  it('raise nothing for a regular reporter', () => {
    const run = harness();
    run.feed(delivered([...reportsAt('P1', daily), ...bystander(D0, D0 + 39)], LATENESS));
    run.advanceTo(at(D0 + 45));
    expect(ofP1(run)).toEqual([]);
  });

  it('a late report inside a gap closes it as if it had come in order', () => {
    // Ten days of lateness: P1's report of D0+38 comes after its report of D0+45 and still counts.
    const slow = () => ruleHarness(reportingGap, paramsFrom(reportingGapParams, {}), { allowedLatenessMs: 10 * DAY_MS });
    const [before, filler, after] = [reportsAt('P1', workdays(D0 + 1, D0 + 19)), reportsAt('P1', [at(D0 + 38)]), reportsAt('P1', [at(D0 + 45)])];
    const inOrder = slow();
    inOrder.feed([...before, ...filler, ...after]);
    inOrder.advanceTo(at(D0 + 60));
    const late = slow();
    late.feed([...before, ...after, ...filler]);
    late.advanceTo(at(D0 + 60));
    expect(ofP1(inOrder)).toEqual([]);
    expect(ofP1(late)).toEqual([]);
    // Without the late report the silence from D0+19 to D0+45 is a finding.
    const without = slow();
    without.feed([...before, ...after]);
    without.advanceTo(at(D0 + 60));
    expect(ofP1(without).map((d) => d.evidence['lastReportAt'])).toEqual([iso(at(D0 + 19, 10))]);
  });

  it('gives the same findings whatever the delivery order within the lateness', () => {
    const p1 = reportsAt('P1', [...workdays(D0 + 1, D0 + 19), ...workdays(D0 + 50, D0 + 60)]);
    const all = [...p1, ...bystander(D0, D0 + 100)];
    const ordered = harness();
    ordered.feed([...all].sort(byTime));
    ordered.advanceTo(at(D0 + 120));
    const shuffled = harness();
    shuffled.feed(delivered(all, LATENESS));
    shuffled.advanceTo(at(D0 + 120));
    expect(ofP1(ordered)).toHaveLength(2);
    expect(ofP1(shuffled)).toEqual(ordered.drafts);
  });
});

describe('reporting-gap: its state', () => {
  it('is rebuilt from its saved text', () => {
    const history = new ReportingHistory();
    for (const d of [D0 + 3, D0 + 1, D0 + 2, D0 + 2]) history.addDay(d);
    history.setLatest({ at: at(D0 + 3), reportId: 'r3' });
    history.openGap({ at: at(D0 + 3), reportId: 'r3', next: null, dueAt: at(D0 + 24), cadence: { gaps: 6, medianGapDays: 1, usualLongestGapDays: 1, allowedGapDays: 21, allowedBy: 'floor' } });
    const restored = new ReportingHistory();
    for (const [part, text] of history.drainChanges()) restored.restorePart(part, text!);
    expect(restored.daysUpTo(D0 + 10)).toEqual([D0 + 1, D0 + 2, D0 + 3]);
    expect(restored.latest).toEqual({ at: at(D0 + 3), reportId: 'r3' });
    expect(restored.open).toEqual(history.open);
    expect(history.drainChanges().size).toBe(0);
  });

  it('writes its days only when a report brings a new day, and still reads the first form (days in the whole part)', () => {
    const history = new ReportingHistory();
    for (let d = 0; d < 100; d += 1) history.addDay(D0 + d);
    history.setLatest({ at: at(D0 + 99), reportId: 'r99' });
    expect([...history.drainChanges().keys()].sort()).toEqual(['', DAYS_PART]);
    // Another report on a day already held: the short part alone.
    history.setLatest({ at: at(D0 + 99) + 60_000, reportId: 'r99b' });
    history.addDay(D0 + 99);
    const sameDay = history.drainChanges();
    expect([...sameDay.keys()]).toEqual(['']);
    expect(sameDay.get('')!.length).toBeLessThan(100);

    const firstForm = JSON.stringify({ days: [D0 + 1, D0 + 2], latest: { at: at(D0 + 2), reportId: 'r2' }, open: [] });
    const read = new ReportingHistory();
    read.restorePart('', firstForm);
    expect(read.daysUpTo(D0 + 10)).toEqual([D0 + 1, D0 + 2]);
    expect(read.latest).toEqual({ at: at(D0 + 2), reportId: 'r2' });
    // Its next save writes both parts in the new form, so no stale days stay in the whole part.
    const rewritten = read.drainChanges();
    expect(JSON.parse(rewritten.get(DAYS_PART)!)).toEqual([D0 + 1, D0 + 2]);
    expect(JSON.parse(rewritten.get('')!)).toEqual({ latest: { at: at(D0 + 2), reportId: 'r2' }, open: [] });
  });
});
