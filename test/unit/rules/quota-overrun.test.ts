/**
 * quota-overrun through the rule harness: year totals kept in the rule's own state, one finding per
 * quota and year whose subject is the crossing report, growing by revision as production continues.
 */
import { describe, expect, it } from 'vitest';
import type { ProductionQuota, Report } from '../../../src/domain/events.ts';
import { quotaOverrun, quotaOverrunParams } from '../../../src/rules/quota-overrun.ts';
import type { AlertDraft } from '../../../src/rules/rule.ts';
import { ProducerState } from '../../../src/state/engine/producer-state.ts';
import { paramsFrom, reports } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';
import { quota } from '../../helpers/quota-register-contract.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

const Y2025 = Date.UTC(2025, 0, 1);
const DAY = 86_400_000;
/** A separation plant's oxide output on day `day` of 2025. */
const made = (kg: number, day: number, o: Parameters<typeof reports.production>[0] = {}): Report =>
  reports.production({ producerId: 'P1', stage: 'SEPARATION', material: 'NDPR_OXIDE', quantityKg: kg, occurredAt: Y2025 + day * DAY, ...o });

/** 10 t of NdPr and La oxide in 2025. */
const Q = quota({ quotaId: 'Q-P1-2025', producerId: 'P1', year: 2025, materials: ['NDPR_OXIDE', 'LA_OXIDE'], quotaKg: 10_000 });

function run(feed: readonly Report[], quotas: readonly ProductionQuota[] = [Q], params: Record<string, unknown> = {}) {
  const h = ruleHarness(quotaOverrun, paramsFrom(quotaOverrunParams, params), { quotas });
  h.feed(feed);
  return h;
}
const subjects = (drafts: AlertDraft[]) => drafts.map((d) => [d.subjectEventIds, d.revision]);

describe('quota-overrun parameters', () => {
  it('counts mining and separation with no tolerance by default', () => {
    expect(quotaOverrunParams.parse({})).toEqual({ stages: ['MINING', 'SEPARATION'], tolerancePct: 0, updateStepPct: 5 });
  });

  it.each([
    ['an empty stage list', { stages: [] }],
    ['an unknown stage', { stages: ['SMELTING'] }],
    ['a negative tolerance', { tolerancePct: -1 }],
    ['an update step over 100 %', { updateStepPct: 101 }],
  ])('rejects %s', (_, raw) => {
    expect(quotaOverrunParams.safeParse(raw).success).toBe(false);
  });
});

describe('quota-overrun', () => {
  it.each([
    ['under the quota', [4_000, 5_000], []],
    ['exactly at the quota', [4_000, 6_000], []],
    ['a gram over the quota', [4_000, 6_000.001], [1]],
    ['over in one report', [12_000], [0]],
  ])('%s', (_, kgs, crossing) => {
    const feed = kgs.map((k, i) => made(k, 10 + i));
    const { drafts } = run(feed);
    expect(drafts.map((d) => d.subjectEventIds)).toEqual(crossing.map((i) => [feed[i]!.event.reportId]));
  });

  it.each([
    ['mining output of a quota material', { stage: 'MINING' as const }, true],
    ['a material the quota names besides the first', { material: 'LA_OXIDE' }, true],
    ['metal made from the oxide', { stage: 'METAL' as const }, false],
    ['a material outside the quota', { material: 'DY_OXIDE' }, false],
    ['another producer', { producerId: 'P2' }, false],
    ['production of the next year', { occurredAt: Date.UTC(2026, 0, 1) }, false],
  ])('counts %s: %s', (_, o, counts) => {
    const feed = [made(9_000, 100), made(2_000, 101, o)];
    expect(run(feed).drafts).toHaveLength(counts ? 1 : 0);
  });

  it('sums the quota\'s materials together and says what each contributed', () => {
    const feed = [made(6_000, 3), made(3_000, 4, { material: 'LA_OXIDE' }), made(1_500, 5, { stage: 'MINING', material: 'LA_OXIDE' })];
    const [draft] = run(feed).drafts;
    expect(draft).toMatchObject({ producerId: 'P1', subjectEventIds: [feed[2]!.event.reportId], revision: 1, eventTime: feed[2]!.event.occurredAt, windowStart: Y2025 });
    expect(draft!.evidence).toMatchObject({
      quotaId: 'Q-P1-2025',
      year: '2025',
      materials: 'NDPR_OXIDE, LA_OXIDE',
      quotaKg: '10000',
      producedKg: '10500',
      producedByMaterial: 'NDPR_OXIDE 6000; LA_OXIDE 4500',
      overKg: '500',
      overPct: '5%',
      crossingReportId: feed[2]!.event.reportId,
      overBeforeQuotaKnown: 'false',
    });
    expect(draft!.summary).toMatch(/^P1 has produced 10\.5 t of NDPR_OXIDE, LA_OXIDE in 2025, 500 kg over its quota Q-P1-2025 of 10 t: report .+ took it over\.$/);
    expectOneSentence(draft!.summary);
  });

  it('publishes further production as the same finding, one revision per report, keeping the crossing report as subject', () => {
    const feed = [made(9_000, 1), made(2_000, 2), made(500, 3), made(700, 4, { material: 'DY_OXIDE' }), made(1_000, 5, { material: 'LA_OXIDE' })];
    const { drafts, latest } = run(feed);
    const crossing = feed[1]!.event.reportId;
    expect(subjects(drafts)).toEqual([[[crossing], 1], [[crossing], 2], [[crossing], 3]]);
    expect(new Set(drafts.map((d) => d.findingKey)).size).toBe(1);
    expect(drafts.map((d) => d.evidence.producedKg)).toEqual(['11000', '11500', '12500']);
    expect(drafts.map((d) => d.score)).toEqual([0.6, 0.65, 0.75]);
    const [last] = latest.values();
    expect(last!.evidence).toMatchObject({ latestReportId: feed[4]!.event.reportId, overKg: '2500' });
    expect(last!.summary).toContain('took it further over');
  });

  it.each([
    // 10 t quota: the default step is 500 kg of further production.
    ['the default 5 % step', {}, [11_000, 11_400, 11_499.999, 11_500, 11_999.999, 12_000], [1, 2, 3]],
    ['every report with no step', { updateStepPct: 0 }, [11_000, 11_001, 11_002], [1, 2, 3]],
  ])('publishes an update only once the total has grown by %s', (_, params, totals, revisions) => {
    const feed = totals.map((t, i) => made(t - (totals[i - 1] ?? 9_000), i + 1));
    const { drafts } = run([made(9_000, 0), ...feed], [Q], params);
    expect(drafts.map((d) => d.revision)).toEqual(revisions);
    expect(drafts.at(-1)!.evidence.producedKg).toBe(String(totals.at(-1)));
  });

  it('judges each quota and year on its own: next year starts from zero', () => {
    const q2026 = quota({ ...Q, quotaId: 'Q-P1-2026', year: 2026 });
    const next = Date.UTC(2026, 0, 1) - Y2025;
    const feed = [made(11_000, 200), made(9_000, next / DAY + 10), made(1_001, next / DAY + 20)];
    const { drafts } = run(feed, [Q, q2026]);
    expect(drafts.map((d) => [d.evidence.quotaId, d.subjectEventIds[0]])).toEqual([
      ['Q-P1-2025', feed[0]!.event.reportId],
      ['Q-P1-2026', feed[2]!.event.reportId],
    ]);
  });

  it('counts by the year of occurredAt, in UTC: the last millisecond of the year is that year', () => {
    const feed = [made(9_000, 10), reports.production({ producerId: 'P1', stage: 'SEPARATION', material: 'NDPR_OXIDE', quantityKg: 2_000, occurredAt: Date.UTC(2026, 0, 1) - 1 })];
    expect(run(feed).drafts).toHaveLength(1);
  });

  it('allows the tolerance, to the gram', () => {
    // 10 t * 1.001 = 10.01 t; 1.001 is not exact in floating point.
    expect(run([made(10_010, 1)], [Q], { tolerancePct: 0.1 }).drafts).toHaveLength(0);
    expect(run([made(10_010.001, 1)], [Q], { tolerancePct: 0.1 }).drafts).toHaveLength(1);
  });

  it('still sees the year\'s production when the quota arrives after some of it', () => {
    let known: ProductionQuota[] = [];
    const h = ruleHarness(quotaOverrun, paramsFrom(quotaOverrunParams), { extra: () => ({ quotas: known }) });
    const early = [made(7_000, 1), made(5_000, 2)];
    expect(h.feed(early)).toEqual([]);
    known = [Q];
    const after = made(100, 3);
    const [draft] = h.feed([after]);
    expect(draft).toMatchObject({ subjectEventIds: [after.event.reportId], revision: 1 });
    expect(draft!.evidence).toMatchObject({ producedKg: '12100', overBeforeQuotaKnown: 'true' });
    expect(draft!.summary).toContain('already over before report');
  });

  it('gives the same findings when the reports are fed again to a fresh detector (replay = live)', () => {
    const feed = [made(6_000, 1), made(3_000, 2, { material: 'LA_OXIDE' }), made(2_000, 3), made(600, 4)];
    const live = run(feed).drafts;
    const replay = run(feed).drafts;
    expect(replay).toEqual(live);
    expect(live).toHaveLength(2);
  });

  it('carries on from saved state on another instance: same finding, next revision', () => {
    const feed = [made(9_000, 1), made(2_000, 2), made(600, 3)];
    const first = run(feed.slice(0, 2));
    const saved = new Map([...first.states.get('P1')!.drainChanges()].map(([field, text]) => [field, text!]));
    const other = ruleHarness(quotaOverrun, paramsFrom(quotaOverrunParams), { quotas: [Q] });
    other.states.set('P1', new ProducerState('P1', saved));
    const [update] = other.feed(feed.slice(2));
    expect(update).toMatchObject({ findingKey: first.drafts[0]!.findingKey, revision: 2, subjectEventIds: [feed[1]!.event.reportId] });
    expect(update!.evidence.producedKg).toBe('11600');
  });
});
