import { describe, expect, it } from 'vitest';
import type { Report, ShipmentReport } from '../../../src/domain/events.ts';
import { HOUR_MS } from '../../../src/domain/time.ts';
import { judgeVolume, volumeSpike, volumeSpikeParams } from '../../../src/rules/volume-spike.ts';
import { at, D0, paramsFrom, reports } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

const DEFAULTS = volumeSpikeParams.parse({});
const LATENESS = 72 * HOUR_MS;
/** Ten lots around 100 kg: median 100, MAD 10. */
const USUAL = [80, 90, 90, 95, 100, 100, 105, 110, 110, 120];

/** An export of NDFEB_MAGNET (uncontrolled) on day D0 + day. */
const exportOn = (day: number, quantityKg: number, o: Partial<ShipmentReport> = {}): Report =>
  reports.shipments({ material: 'NDFEB_MAGNET', licenceId: null, quantityKg, occurredAt: at(D0 + day), ...o });
/** The usual lots, one a day from D0, to client C1. */
const history = (): Report[] => USUAL.map((kg, i) => exportOn(i, kg));

function run(feed: Report[], params: Record<string, unknown> = {}) {
  const h = ruleHarness(volumeSpike, paramsFrom(volumeSpikeParams, params), { allowedLatenessMs: LATENESS });
  h.feed(feed);
  // The end of the stream: every export settles.
  h.advanceTo(Number.MAX_SAFE_INTEGER);
  return h;
}

describe('volume-spike parameters', () => {
  it('defaults to 8 exports of history out of the last 30 within 90 days, z 3.5, 5x the median, 4x for a new client', () => {
    expect(DEFAULTS).toEqual({ minHistory: 8, historySize: 30, historyDays: 90, zThreshold: 3.5, minRatio: 5, newClientRatio: 4 });
  });

  it.each([
    ['a ratio floor under 1', { minRatio: 0.5 }, 'minRatio'],
    ['a history of 2', { minHistory: 2 }, 'minHistory'],
    ['a zero z threshold', { zThreshold: 0 }, 'zThreshold'],
  ])('rejects %s', (_, raw, field) => {
    const result = volumeSpikeParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('volume-spike: the verdict', () => {
  it('says there is not enough history, and never calls it a spike', () => {
    expect(judgeVolume(10_000, USUAL.slice(0, 7), false, DEFAULTS)).toEqual({ kind: 'not-enough-history', n: 7 });
    expect(judgeVolume(10_000, USUAL.slice(0, 7), true, DEFAULTS)).toEqual({ kind: 'not-enough-history', n: 7 });
  });

  // median 100, MAD 10 (0.6745 x 400 / 10 = 27 for 500 kg): the ratio floor decides.
  it.each<[string, number, boolean, boolean]>([
    ['an ordinary lot of 1.5x the median', 150, false, false],
    ['3x the median: far in z, under the floor', 300, false, false],
    ['just under 5x the median', 499, false, false],
    ['5x the median', 500, false, true],
    ['a new client at 3.9x', 390, true, false],
    ['a new client at 4x', 400, true, true],
    ['a known client at 4x', 400, false, false],
  ])('%s', (_, kg, newClient, spike) => {
    expect(judgeVolume(kg, USUAL, newClient, DEFAULTS).kind).toBe(spike ? 'spike' : 'ordinary');
  });

  it('needs the modified z too: a wide baseline keeps 5x ordinary', () => {
    // median 100, MAD 100: 500 kg is z 2.7.
    const wide = [10, 20, 50, 100, 100, 100, 200, 250, 300, 400];
    expect(judgeVolume(500, wide, false, DEFAULTS)).toMatchObject({ kind: 'ordinary', median: 100 });
    expect(judgeVolume(500, wide, false, { ...DEFAULTS, zThreshold: 2 })).toMatchObject({ kind: 'spike' });
  });

  it('with every earlier lot the same, the ratio floor alone decides', () => {
    expect(judgeVolume(500, Array(10).fill(100), false, DEFAULTS)).toMatchObject({ kind: 'spike', z: null });
    expect(judgeVolume(499, Array(10).fill(100), false, DEFAULTS)).toMatchObject({ kind: 'ordinary' });
  });
});

describe('volume-spike: on a producer’s stream of exports', () => {
  it('flags an outsized export once the watermark has passed it, with the numbers behind it', () => {
    const spike = exportOn(11, 800);
    const h = run([...history(), spike]);
    expect(h.drafts).toHaveLength(1);
    const [draft] = h.drafts;
    expect(draft!.subjectEventIds).toEqual([spike.event.reportId]);
    expect(draft!.findingKey).toBe(`P1|${(spike.event as ShipmentReport).shipmentId}`);
    expect(draft!.evidence).toMatchObject({ checks: 'baseline', historyExports: '10', historyMedianKg: '100', ratioToMedian: '8', minRatio: '5', newClient: 'false', quantityKg: '800' });
    expect(draft!.summary).toBe('P1 exported 800 kg of NDFEB_MAGNET to C1 (DE), 8x its median export of 100 kg over its last 10 (modified z 47.2).');
    expectOneSentence(draft!.summary);
  });

  it('waits for the watermark: nothing while later exports could still come in', () => {
    const h = ruleHarness(volumeSpike, paramsFrom(volumeSpikeParams), { allowedLatenessMs: LATENESS });
    h.feed([...history(), exportOn(11, 800)]);
    expect(h.drafts).toEqual([]);
    h.advanceTo(at(D0 + 11));
    expect(h.drafts).toHaveLength(1);
  });

  it('does not flag an ordinary lot, nor a large one with too little history', () => {
    expect(run([...history(), exportOn(11, 150)]).drafts).toEqual([]);
    expect(run([...history().slice(0, 7), exportOn(8, 5000)]).drafts).toEqual([]);
  });

  it('flags a large first export to a new client, and not a second one to it', () => {
    const first = exportOn(11, 450, { clientId: 'C9', clientName: 'Nine Ltd' });
    const second = exportOn(12, 450, { clientId: 'C9', clientName: 'Nine Ltd' });
    const h = run([...history(), first, second]);
    expect(h.drafts.map((d) => d.subjectEventIds[0])).toEqual([first.event.reportId]);
    expect(h.drafts[0]!.evidence).toMatchObject({ checks: 'new-client', newClient: 'true', ratioToMedian: '4.5' });
    expect(h.drafts[0]!.summary).toContain('to new client C9');
  });

  it('finds the same first export to a client whichever report arrives first', () => {
    const early = exportOn(11, 450, { clientId: 'C9', occurredAt: at(D0 + 11, 9) });
    const late = exportOn(11, 450, { clientId: 'C9', occurredAt: at(D0 + 11, 15) });
    const inOrder = run([...history(), early, late]).drafts.map((d) => d.findingKey);
    const reversed = run([...history(), late, early]).drafts.map((d) => d.findingKey);
    expect(inOrder).toHaveLength(1);
    expect(reversed).toEqual(inOrder);
  });

  it('judges against the exports before it in event time, whatever order they arrived in', () => {
    // The spike happened between the ninth and tenth usual lots.
    const lots = history();
    const spike = exportOn(9, 800, { occurredAt: at(D0 + 9, 6) });
    const inOrder = run([...lots.slice(0, 9), spike, lots[9]!]);
    const spikeFirst = run([spike, ...lots]);
    const spikeLast = run([...lots, spike]);
    expect(inOrder.drafts[0]!.evidence.historyExports).toBe('9');
    expect(spikeFirst.drafts).toEqual(inOrder.drafts);
    expect(spikeLast.drafts).toEqual(inOrder.drafts);
  });

  it('ignores domestic shipments and exports of other materials in the baseline', () => {
    const others = [
      ...Array.from({ length: 10 }, (_, i) => reports.shipments({ direction: 'DOMESTIC', clientId: 'P2', material: 'NDFEB_MAGNET', quantityKg: 5000, occurredAt: at(D0 + i, 8) })),
      ...Array.from({ length: 10 }, (_, i) => exportOn(i, 5000, { material: 'SMCO_MAGNET', occurredAt: at(D0 + i, 9) })),
    ];
    expect(run([...others, ...history(), exportOn(11, 800)]).drafts).toHaveLength(1);
    expect(run([...others, ...history(), exportOn(11, 150)]).drafts).toEqual([]);
  });

  it.each<[number, boolean]>([
    [30, true],
    [90, false],
  ])('keeps a trailing window: with %i days, 1 t lots 60 days back make 800 kg a spike: %s', (historyDays, fires) => {
    const old = USUAL.map((kg, i) => exportOn(i - 60, kg * 10));
    expect(run([...old, ...history(), exportOn(11, 800)], { historyDays }).drafts).toHaveLength(fires ? 1 : 0);
  });
});
