import { describe, expect, it } from 'vitest';
import type { Report, ShipmentReport } from '../../../src/domain/events.ts';
import { HOUR_MS } from '../../../src/domain/time.ts';
import { materialSmallKg, smallUnder, splitShipments, splitShipmentsParams } from '../../../src/rules/split-shipments.ts';
import { at, D0, paramsFrom, reports, testCatalogue } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

const DEFAULTS = splitShipmentsParams.parse({});
const LATENESS = 72 * HOUR_MS;

/** An export of NDFEB_MAGNET (reference 46 USD/kg: small under 1000/46 = 21.74 kg) on day D0 + day. */
const exportOn = (day: number, quantityKg: number, o: Partial<ShipmentReport> = {}, hour = 12): Report =>
  reports.shipments({ material: 'NDFEB_MAGNET', licenceId: null, quantityKg, transportMode: 'COURIER', occurredAt: at(D0 + day, hour), ...o });
const idsOf = (list: Report[]) => list.map((r) => r.event.reportId);

function run(feed: Report[], params: Record<string, unknown> = {}, byMaterial: Record<string, Record<string, unknown>> = {}) {
  const h = ruleHarness(splitShipments, paramsFrom(splitShipmentsParams, params, byMaterial), { allowedLatenessMs: LATENESS });
  h.feed(feed);
  h.advanceTo(Number.MAX_SAFE_INTEGER);
  return h;
}

describe('split-shipments parameters', () => {
  it('defaults to 4 shipments in 7 days, a 1000 USD parcel, 30 % of the usual, parcels counting double', () => {
    expect(DEFAULTS).toEqual({ windowDays: 7, minShipments: 4, smallValueUsd: 1000, usualShare: 0.3, usualTotalShare: 1, minHistory: 8, historySize: 30, historyDays: 90, parcelWeight: 2 });
  });

  it.each([
    ['a group of one', { minShipments: 1 }, 'minShipments'],
    ['a window over a month', { windowDays: 40 }, 'windowDays'],
    ['a usual share over 1', { usualShare: 1.5 }, 'usualShare'],
    ['a negative smallKg', { smallKg: -1 }, 'smallKg'],
    ['a group total of no usual lot', { usualTotalShare: 0 }, 'usualTotalShare'],
  ])('rejects %s', (_, raw, field) => {
    const result = splitShipmentsParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('split-shipments: what is small', () => {
  it('follows the reference price per material, or the smallKg setting', () => {
    const cat = testCatalogue();
    expect(materialSmallKg('NDFEB_MAGNET', cat, DEFAULTS)!.kg).toBeCloseTo(21.74, 2);
    expect(materialSmallKg('TB_OXIDE', cat, DEFAULTS)!.kg).toBeCloseTo(1.031, 3);
    expect(materialSmallKg('TB_OXIDE', cat, { ...DEFAULTS, smallKg: 3 })).toEqual({ kg: 3, from: 'smallKg setting' });
    expect(materialSmallKg('UNKNOWN', cat, DEFAULTS)).toBeNull();
  });

  const usual = Array(10).fill(1000);
  it.each<[string, number, number[], 'material' | 'usual' | null]>([
    ['just under the material threshold', 21.7, [], 'material'],
    ['at it, with no history', 21.74, [], null],
    ['30 % of a usual 1 t lot', 300, usual, 'usual'],
    ['31 % of it', 310, usual, null],
    ['under 30 % but with only 7 earlier exports', 300, usual.slice(0, 7), null],
  ])('%s', (_, kg, history, by) => {
    const verdict = smallUnder(kg, 21.74, history, DEFAULTS);
    expect(verdict?.by ?? null).toBe(by);
  });
});

describe('split-shipments: groups', () => {
  const four = () => [exportOn(0, 15), exportOn(1, 15), exportOn(2, 15), exportOn(3, 15)];

  it.each<[string, () => Report[], boolean]>([
    ['four parcels to one client in a week: a group', four, true],
    ['three parcels: none', () => four().slice(0, 3), false],
    ['four, the last eight days after the first', () => [exportOn(0, 15), exportOn(1, 15), exportOn(2, 15), exportOn(8, 15)], false],
    ['four ordinary 1 t lots', () => [0, 1, 2, 3].map((d) => exportOn(d, 1000, { transportMode: 'SEA' })), false],
    ['four parcels to four clients in four countries', () => ['DE', 'FR', 'US', 'JP'].map((c, i) => exportOn(i, 15, { clientId: `C${i}`, destinationCountry: c, clientCountry: c })), false],
  ])('%s', (_, feed, fires) => {
    expect(run(feed()).latest.size).toBe(fires ? 1 : 0);
  });

  it('names every shipment of the group, the total and the threshold', () => {
    const group = four();
    const h = run(group);
    const [draft] = [...h.latest.values()];
    expect(draft!.subjectEventIds).toEqual(idsOf(group));
    expect(draft!.clientId).toBe('C1');
    expect(draft!.evidence).toMatchObject({ groupBy: 'client', clientId: 'C1', shipments: '4', totalKg: '60', largestKg: '15', thresholdKg: '21.739', courierOrPost: '4', smallBy: 'material', materialSmallFrom: '1000 USD at the reference 46 USD/kg' });
    expect(draft!.windowStart).toBe(at(D0));
    expect(draft!.summary).toBe('P1 sent 4 small exports of NDFEB_MAGNET to client C1 (DE) within 7 days, 60 kg together, 4 of them by courier or post.');
    expectOneSentence(draft!.summary);
  });

  it('scores courier and post parcels higher than the same group by sea', () => {
    const bySea = run(four().map((r) => ({ ...r, event: { ...r.event, transportMode: 'SEA' } }) as Report));
    const byCourier = run(four());
    expect([...bySea.latest.values()][0]!.score).toBeCloseTo(0.35, 6);
    expect([...byCourier.latest.values()][0]!.score).toBeCloseTo(0.75, 6);
  });

  it('grows: one finding, a higher revision and the new member each time a shipment joins', () => {
    const h = ruleHarness(splitShipments, paramsFrom(splitShipmentsParams), { allowedLatenessMs: LATENESS });
    // The watermark passes each new shipment before the next arrives.
    h.feed(four());
    h.advanceTo(at(D0 + 3, 13));
    h.feed([exportOn(4, 15)]);
    h.advanceTo(at(D0 + 4, 13));
    h.feed([exportOn(5, 15)]);
    h.advanceTo(at(D0 + 5, 13));
    expect(h.latest.size).toBe(1);
    expect(h.drafts.map((d) => d.revision)).toEqual([1, 2, 3]);
    expect(new Set(h.drafts.map((d) => d.findingKey)).size).toBe(1);
    expect(h.drafts.map((d) => d.subjectEventIds.length)).toEqual([4, 5, 6]);
    expect(h.drafts[2]!.evidence.revision).toBe('3');
  });

  it('forms the same group and finding whatever order the reports arrive in', () => {
    const group = [...four(), exportOn(4, 15)];
    const reversed = run([...group].reverse());
    const shuffled = run([group[2]!, group[0]!, group[4]!, group[1]!, group[3]!]);
    const inOrder = run(group);
    const final = (h: ReturnType<typeof run>) => [...h.latest.values()].map((d) => ({ key: d.findingKey, ids: d.subjectEventIds, evidence: d.evidence }));
    expect(final(reversed)).toEqual(final(inOrder));
    expect(final(shuffled)).toEqual(final(inOrder));
    expect(final(inOrder)[0]!.key).toContain(group[0]!.event.reportId);
  });

  it('keeps a published group’s window: a later parcel outside it starts a new group, not a moved one', () => {
    const first = four();
    const second = [exportOn(7, 15), exportOn(8, 15), exportOn(9, 15), exportOn(10, 15)];
    const h = run([...first, ...second]);
    expect([...h.latest.values()].map((d) => d.subjectEventIds)).toEqual([idsOf(first), idsOf(second)]);
  });

  describe('windows are the same whatever batches the watermark settles the exports in', () => {
    // Parcels on days 0, 6, 12, 13, 14, 15: windows 0 (0, 6) and 12 (12–15), a group of four.
    const days = [0, 6, 12, 13, 14, 15];
    const settleAt = (day: number) => at(D0 + day, 13);
    const findings = (passes: number[]) => {
      const feed = days.map((d) => exportOn(d, 15));
      // Nothing settles while feeding: the watermark moves only at the passes given.
      const h = ruleHarness(splitShipments, paramsFrom(splitShipmentsParams), { allowedLatenessMs: 60 * 24 * HOUR_MS });
      h.feed(feed);
      for (const day of passes) h.advanceTo(settleAt(day));
      // Report ids differ per run: named by day instead, so runs compare whole.
      const dayOf = new Map(feed.map((r, i) => [r.event.reportId, `day-${days[i]}`]));
      const byDay = (text: string) => text.replace(/[\w-]+/g, (word) => dayOf.get(word) ?? word);
      const found = h.drafts.map((d) => ({ key: d.findingKey, revision: d.revision, ids: d.subjectEventIds, windowStart: d.windowStart, evidence: d.evidence }));
      return { feed, found: JSON.parse(byDay(JSON.stringify(found))) as typeof found };
    };
    const reference = findings([15]);

    it.each<[string, number[]]>([
      ['all in one pass', [15]],
      ['days 12–15 settling together', [0, 6, 15]],
      ['day 15 settling alone', [0, 6, 12, 13, 14, 15]],
      ['every export alone', [...days]],
      ['0–12 together, then 13–15 together', [12, 15]],
    ])('%s', (_, passes) => {
      const { found } = findings(passes);
      expect(found).toEqual(reference.found);
      expect(found).toHaveLength(1);
      expect(found[0]!.ids).toEqual(['day-12', 'day-13', 'day-14', 'day-15']);
      expect(found[0]!.key).toBe('P1|NDFEB_MAGNET|client|C1|day-12');
      expect(found[0]!.windowStart).toBe(at(D0 + 12));
    });
  });

  describe('a window too short for a group does not cut a run of parcels in two', () => {
    // An exporter of 1 t lots by sea sends a smaller lot on day 0 (small against its usual, so it
    // opens a window), then five parcels to the same client on days 5-9: two fall in the day-0
    // window, three after it. The day-0 window holds three small exports, no group; it starts again
    // at the first parcel, and the five are one group.
    const usual = Array.from({ length: 10 }, (_, i) => exportOn(i - 22, 1000, { transportMode: 'SEA' }));
    const lot = exportOn(0, 250, { transportMode: 'SEA' });
    const parcelDays = [5, 6, 7, 8, 9];
    const findings = (passes: number[]) => {
      const parcels = parcelDays.map((d) => exportOn(d, 12.2, { transportMode: d % 2 ? 'COURIER' : 'POST' }));
      const h = ruleHarness(splitShipments, paramsFrom(splitShipmentsParams), { allowedLatenessMs: 60 * 24 * HOUR_MS });
      h.feed([...usual, lot, ...parcels]);
      for (const day of passes) h.advanceTo(at(D0 + day, 13));
      const named = new Map(parcels.map((r, i) => [r.event.reportId, `day-${parcelDays[i]}`]));
      const final = new Map(h.drafts.map((d) => [d.findingKey.replace(/[\w-]+$/, (id) => named.get(id) ?? id), d.subjectEventIds.map((id) => named.get(id) ?? id)]));
      return [...final.entries()];
    };

    it.each<[string, number[]]>([
      ['all in one pass', [9]],
      ['day by day', [0, 5, 6, 7, 8, 9]],
      ['the lot and two parcels, then the rest', [6, 9]],
      ['up to the end of the day-0 window, then the rest', [0, 7, 9]],
    ])('%s', (_, passes) => {
      expect(findings(passes)).toEqual([['P1|NDFEB_MAGNET|client|C1|day-5', ['day-5', 'day-6', 'day-7', 'day-8', 'day-9']]]);
    });

    it('keeps a window that holds a group', () => {
      const h = run([...usual, lot, ...[2, 3, 4, 8, 9].map((d) => exportOn(d, 12.2))]);
      // Day 0 with the parcels of days 2-4 is a group (mixed: the lot and three parcels); days 8-9 are two, no group.
      expect([...h.latest.values()].map((d) => d.subjectEventIds.length)).toEqual([4]);
    });
  });

  it('judges small against the producer’s usual lot too, with the evidence saying so', () => {
    const usual = Array.from({ length: 10 }, (_, i) => exportOn(i - 20, 2000, { transportMode: 'SEA' }));
    const group = [0, 1, 2, 3].map((d) => exportOn(d, 500, { transportMode: 'AIR' }));
    const [draft] = [...run([...usual, ...group]).latest.values()];
    expect(draft!.subjectEventIds).toEqual(idsOf(group));
    expect(draft!.evidence).toMatchObject({ smallBy: 'usual', thresholdKg: '600', totalKg: '2000' });
    expect(run(group).latest.size).toBe(0);
  });

  describe('groups small only against the producer’s usual lot', () => {
    // An exporter whose usual lot is 1 t by sea: ten of them over the three weeks before.
    const usual = () => Array.from({ length: 10 }, (_, i) => exportOn(i - 22, 1000, { transportMode: 'SEA' }));
    const lots = (kgs: number[], modes: ShipmentReport['transportMode'][]) => kgs.map((q, d) => exportOn(d, q, { transportMode: modes[d % modes.length]! }));
    const findings = (group: Report[], params: Record<string, unknown> = {}) => [...run([...usual(), ...group], params).latest.values()];

    it.each<[string, number[], ShipmentReport['transportMode'][], boolean]>([
      // Holiday weeks: four ordinary lots, each under 30 % of the usual, by sea, rail and air (the FPs of seeds 271828 and 8080).
      ['four smaller lots by sea, rail and air, 900 kg together: not a split', [250, 200, 230, 220], ['SEA', 'RAIL', 'AIR', 'SEA'], false],
      ['a usual lot’s worth in four pieces by air: a split', [260, 250, 270, 280], ['AIR'], true],
      ['600 kg mostly by courier and post (3 of 4): a split', [150, 150, 150, 150], ['COURIER', 'POST', 'COURIER', 'SEA'], true],
      ['600 kg half by courier: not yet', [150, 150, 150, 150], ['COURIER', 'SEA'], false],
    ])('%s', (_, kgs, modes, fires) => {
      expect(findings(lots(kgs, modes))).toHaveLength(fires ? 1 : 0);
    });

    it('measures the pieces by the usual from before them, not one their own sizes pulled down', () => {
      // Golden week: lots shrink with output, to 20-30 % of an exporter's varied usual (median 1.2 t).
      // By the fourth, the three before it count among its earlier exports, and its median is 1,050 kg.
      const varied = [800, 900, 1000, 1100, 1200, 1300, 1400, 1500, 1600].map((q, i) => exportOn(i - 20, q, { transportMode: 'SEA' }));
      const holiday = lots([340, 280, 310, 220], ['SEA', 'SEA', 'AIR', 'AIR']);
      expect([...run([...varied, ...holiday]).latest.values()]).toHaveLength(0);
      // The same pieces reaching the 1.2 t lot from before them are a usual lot sent in pieces.
      const [draft] = [...run([...varied, ...lots([340, 300, 320, 260], ['AIR'])]).latest.values()];
      expect(draft!.evidence).toMatchObject({ smallBy: 'usual', usualKg: '1200', totalKg: '1220' });
    });

    it('says what the group was measured by', () => {
      const [draft] = findings(lots([260, 250, 270, 280], ['AIR']));
      expect(draft!.evidence).toMatchObject({ smallBy: 'usual', thresholdKg: '300', usualKg: '1000', usualTotalShare: '1', totalKg: '1060' });
    });

    it('takes the share of a usual lot from the settings', () => {
      const group = lots([250, 200, 230, 220], ['SEA']);
      expect(findings(group)).toHaveLength(0);
      expect(findings(group, { usualTotalShare: 0.8 })).toHaveLength(1);
    });

    it('grows into a split once the pieces reach a usual lot', () => {
      const [draft] = findings(lots([250, 200, 230, 220, 240], ['SEA']));
      expect(draft!.subjectEventIds).toHaveLength(5);
      expect(draft!.revision).toBe(2);
    });

    it('leaves groups with a parcel under the material’s threshold as they were', () => {
      const mixed = [exportOn(0, 15), exportOn(1, 15), exportOn(2, 250, { transportMode: 'SEA' }), exportOn(3, 250, { transportMode: 'SEA' })];
      const [draft] = findings(mixed);
      expect(draft!.evidence.smallBy).toBe('material,usual');
      expect(draft!.evidence.usualKg).toBeUndefined();
    });
  });

  it('groups by destination across clients, unless one client already makes the group', () => {
    const twoClients = [0, 1, 2, 3].map((d) => exportOn(d, 15, { clientId: d % 2 ? 'C1' : 'C2', destinationCountry: 'AE' }));
    const [draft] = [...run(twoClients).latest.values()];
    expect(draft!.evidence).toMatchObject({ groupBy: 'destination', destinationCountry: 'AE' });
    expect(draft!.clientId).toBeNull();
    expect([...run(four()).latest.values()].map((d) => d.evidence.groupBy)).toEqual(['client']);
  });

  it('uses a per-material smallKg override', () => {
    expect(run(four(), {}, { NDFEB_MAGNET: { smallKg: 10 } }).latest.size).toBe(0);
    expect(run(four(), {}, { NDFEB_MAGNET: { smallKg: 16 } }).latest.size).toBe(1);
  });

  it('ignores domestic shipments', () => {
    expect(run(four().map((r) => ({ ...r, event: { ...r.event, direction: 'DOMESTIC', clientId: 'P2' } }) as Report)).latest.size).toBe(0);
  });
});
