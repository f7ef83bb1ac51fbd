/**
 * The pipeline end to end on the in-memory store and the shipped catalogue: reports in, alerts out,
 * as an enforcement team would receive them. Each test starts from a fresh store.
 */
import { describe, expect, it } from 'vitest';
import { parseRulesFile } from '../../src/config/rules-file.ts';
import { heldRevisions } from '../../src/consumers/other-path-holds.ts';
import { createMemoryTxnJournal, settleHeld, type TxnJournal } from '../../src/consumers/txn-journal.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert, Licence, Report, ShipmentReport, WatchlistEntry } from '../../src/domain/events.ts';
import { HOUR_MS, dayEnd } from '../../src/domain/time.ts';
import { alertIdFor } from '../../src/pipeline/alert-id.ts';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';
import { createPipeline, type Pipeline, type PublishingPath } from '../../src/pipeline/pipeline.ts';
import { createMemoryTimerIndex } from '../../src/pipeline/timer-index.ts';
import { toStateUpdate } from '../../src/pipeline/to-update.ts';
import { sightingOf } from '../../src/rules/watchlist-match.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import type { StateStore } from '../../src/state/store.ts';
import { D0, at, licence, reports, shipment } from '../helpers/builders.ts';
import { expectOneSentence } from '../helpers/expect-sentence.ts';

const catalogue = loadCatalogue();
const GRACE_MS = 72 * HOUR_MS;

function setup(rulesText = '', now = () => 1_000): { store: StateStore; pipeline: Pipeline } {
  const store = createEngineMemoryStore();
  const pipeline = createPipeline({ store, rules: parseRulesFile(rulesText, 'test rules'), catalogue, now });
  return { store, pipeline };
}

/** Feeds batches in order and marks each batch's alerts published, as the consumer does once they are durable. */
async function feed(pipeline: Pipeline, ...batches: Report[][]): Promise<Alert[]> {
  const out: Alert[] = [];
  for (const batch of batches) {
    const alerts = await pipeline.process(batch);
    await pipeline.markPublished(alerts);
    out.push(...alerts);
  }
  return out;
}

/** A report that only moves P1's clock: production of a material nothing else in these tests touches. */
const tick = (occurredAt: number, producerId = 'P1'): Report =>
  reports.production({ producerId, material: 'NDPR_OXIDE', stage: 'SEPARATION', quantityKg: 1, occurredAt });

/** A domestic transfer needs no licence, so only the mass balance has anything to say about it. */
const domestic = (o: Partial<ShipmentReport> = {}): Report =>
  reports.shipments({ direction: 'DOMESTIC', clientId: 'P2', clientName: 'Plant Two', clientCountry: 'CN', destinationCountry: 'CN', licenceId: null, material: 'DY_OXIDE', ...o });

const ruleIds = (alerts: Alert[]) => alerts.map((a) => a.ruleId);

describe('pipeline: mass balance after the grace period', () => {
  it('waits for production that arrives late but within the grace period, and finds nothing', async () => {
    const { pipeline } = setup();
    const ship = domestic({ quantityKg: 100, occurredAt: at(D0, 10) });
    const lateProduction = reports.production({
      material: 'DY_OXIDE',
      stage: 'SEPARATION',
      quantityKg: 100,
      occurredAt: at(D0, 8),
      reportedAt: at(D0 + 2),
    });
    const alerts = await feed(pipeline, [ship], [tick(at(D0 + 2))], [lateProduction], [tick(dayEnd(D0) + GRACE_MS + HOUR_MS)]);
    expect(alerts).toEqual([]);
  });

  it.each([
    ['just before the grace period ends', -1, 0],
    ['when the grace period ends', 0, 1],
    ['just after the grace period ends', 1, 1],
  ])('judges a real deficit %s on the producer clock', async (_, offsetMs, count) => {
    const { pipeline } = setup();
    const ship = domestic({ quantityKg: 100 });
    const alerts = await feed(pipeline, [ship], [tick(dayEnd(D0) + GRACE_MS + offsetMs)]);
    expect(alerts).toHaveLength(count);
  });

  it('reports a real deficit once, naming the shipment behind it', async () => {
    const { pipeline } = setup();
    const ship = domestic({ quantityKg: 100 });
    const alerts = await feed(pipeline, [ship], [tick(dayEnd(D0) + GRACE_MS)], [tick(dayEnd(D0) + 2 * GRACE_MS)]);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert).toMatchObject({
      ruleId: 'volume-mismatch',
      ruleVersion: 1,
      producerId: 'P1',
      subjectEventIds: [ship.event.reportId],
      severity: 'CRITICAL',
      score: 1,
      eventTime: dayEnd(D0),
      detectedAt: 1_000,
    });
    expect(alert!.evidence).toMatchObject({ check: 'deficit', material: 'DY_OXIDE', shippedKg: '100', deficitKg: '100', graceHours: '72' });
    expectOneSentence(alert!.summary);
  });

  it("waits for the producer's own grace period from the rules file", async () => {
    const rules = 'rules:\n  volume-mismatch:\n    overrides:\n      - { producerId: P1, params: { graceHours: 24 } }\n';
    const early = setup(rules);
    expect(await feed(early.pipeline, [domestic({ quantityKg: 100 })], [tick(dayEnd(D0) + 24 * HOUR_MS - 1)])).toEqual([]);
    const due = setup(rules);
    expect(ruleIds(await feed(due.pipeline, [domestic({ quantityKg: 100 })], [tick(dayEnd(D0) + 24 * HOUR_MS)]))).toEqual(['volume-mismatch']);
  });

  it('flags a declared stock far below the book balance as goods that left without a report', async () => {
    const { pipeline } = setup();
    const opening = reports.inventory({ material: 'DY_OXIDE', onHandKg: 1000, occurredAt: at(D0) });
    const produced = reports.production({ material: 'DY_OXIDE', stage: 'SEPARATION', quantityKg: 500, occurredAt: at(D0 + 1) });
    const declared = reports.inventory({ material: 'DY_OXIDE', onHandKg: 200, occurredAt: at(D0 + 2) });
    const alerts = await feed(pipeline, [opening, produced, declared], [tick(dayEnd(D0 + 2) + GRACE_MS)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ ruleId: 'volume-mismatch', subjectEventIds: [declared.event.reportId] });
    expect(alerts[0]!.evidence).toMatchObject({
      check: 'declared-stock',
      direction: 'below',
      openingStockKg: '1000',
      producedKg: '500',
      bookBalanceKg: '1500',
      declaredStockKg: '200',
      gapKg: '-1300',
    });
    expectOneSentence(alerts[0]!.summary);
  });
});

describe('pipeline: at-least-once input, effectively-once output', () => {
  it('counts a redelivered batch once: no new alerts, no phantom deficit', async () => {
    const { pipeline } = setup();
    const produced = reports.production({ material: 'DY_OXIDE', stage: 'SEPARATION', quantityKg: 100 });
    const shipped = [domestic({ quantityKg: 60 }), domestic({ quantityKg: 40 })];
    // Counted twice, the shipments would be 200 kg against 100 kg produced.
    const alerts = await feed(pipeline, [produced], shipped, shipped, [shipped[0]!, shipped[0]!], [tick(dayEnd(D0) + GRACE_MS)]);
    expect(alerts).toEqual([]);
  });

  it('publishes nothing new when a batch that produced alerts is redelivered after they were published', async () => {
    const { pipeline } = setup();
    const batch = [domestic({ quantityKg: 100 }), reports.shipments({ licenceId: null }), tick(dayEnd(D0) + GRACE_MS)];
    const first = await feed(pipeline, batch);
    // The export was never produced either, so it is a deficit of its own besides the domestic one.
    expect(ruleIds(first).sort()).toEqual(['unlicensed-client', 'volume-mismatch', 'volume-mismatch']);
    expect(await feed(pipeline, batch)).toEqual([]);
  });

  it('gives the same alerts again when a batch is redelivered before they were published', async () => {
    const { pipeline } = setup();
    const batch = [domestic({ quantityKg: 100 }), reports.shipments({ licenceId: null }), tick(dayEnd(D0) + GRACE_MS)];
    const first = await pipeline.process(batch);
    // The process died before the alert producer had them durable: the retry must reach the same findings.
    const retry = await pipeline.process(batch);
    expect(retry).toEqual(first);
    expect(retry).toHaveLength(3);
  });

  it('publishes a finding reached twice in one batch once, with the first report that reached it', async () => {
    const { pipeline } = setup();
    const day0 = domestic({ quantityKg: 100, occurredAt: at(D0) });
    const day1 = domestic({ quantityKg: 50, occurredAt: at(D0 + 1) });
    // Both days' checks fall due on the same tick; an unreconciled deficit is one lead, not one a day.
    const alerts = await feed(pipeline, [day0, day1, tick(dayEnd(D0 + 1) + GRACE_MS)]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]!.subjectEventIds).toEqual([day0.event.reportId]);
  });

  it('publishes a finding reached again in a later batch once, because it was marked published', async () => {
    const { pipeline } = setup();
    const day0 = domestic({ quantityKg: 100, occurredAt: at(D0) });
    const day1 = domestic({ quantityKg: 50, occurredAt: at(D0 + 1) });
    const first = await feed(pipeline, [day0, day1, tick(dayEnd(D0) + GRACE_MS)]);
    expect(first).toHaveLength(1);
    expect(await feed(pipeline, [tick(dayEnd(D0 + 1) + GRACE_MS)])).toEqual([]);
  });

  it('returns the finding again if it was never marked published', async () => {
    const { pipeline } = setup();
    const day0 = domestic({ quantityKg: 100, occurredAt: at(D0) });
    const day1 = domestic({ quantityKg: 50, occurredAt: at(D0 + 1) });
    const first = await pipeline.process([day0, day1, tick(dayEnd(D0) + GRACE_MS)]);
    const second = await pipeline.process([tick(dayEnd(D0 + 1) + GRACE_MS)]);
    expect(second.map((a) => a.alertId)).toEqual(first.map((a) => a.alertId));
  });
});

describe('pipeline: determinism', () => {
  const LIC = licence({ licenceId: 'LIC-Q', quotaKg: 500 });
  /**
   * Every rule has something to find here: a deficit, a stock gap, no licence, a quota overrun,
   * magnets made from nothing.
   */
  const scenario: Report[] = [
    reports.inventory({ material: 'DY_OXIDE', onHandKg: 50, occurredAt: at(D0) }),
    reports.inventory({ material: 'NDFEB_DY_MAGNET', onHandKg: 0, occurredAt: at(D0 - 1) }),
    domestic({ quantityKg: 400, occurredAt: at(D0 + 1) }),
    reports.production({ quantityKg: 2000, occurredAt: at(D0) }),
    reports.shipments({ licenceId: 'LIC-Q', quantityKg: 300, occurredAt: at(D0 + 1) }),
    reports.shipments({ licenceId: 'LIC-Q', quantityKg: 300, occurredAt: at(D0 + 2) }),
    reports.shipments({ licenceId: null, material: 'TB_OXIDE', quantityKg: 5, occurredAt: at(D0 + 2) }),
    reports.inventory({ material: 'NDFEB_DY_MAGNET', onHandKg: 100, occurredAt: at(D0 + 3) }),
    reports.shipments({ producerId: 'P2', licenceId: null, quantityKg: 10, occurredAt: at(D0 + 3) }),
    tick(dayEnd(D0 + 3) + GRACE_MS),
    tick(dayEnd(D0 + 3) + GRACE_MS, 'P2'),
  ];

  async function replay(batches: Report[][], now: number): Promise<Alert[]> {
    const { store, pipeline } = setup('', () => now);
    await store.putLicence(LIC);
    return feed(pipeline, ...batches);
  }
  const withoutDetectedAt = (alerts: Alert[]) => alerts.map(({ detectedAt: _, ...rest }) => rest);

  it('gives the same alerts, ids included, to two fresh pipelines fed the same reports', async () => {
    const a = await replay([scenario], 1);
    const b = await replay([scenario], 999_999);
    expect(ruleIds(a).sort()).toEqual(['licence-quota-exceeded', 'unlicensed-client', 'unlicensed-client', 'volume-mismatch', 'volume-mismatch', 'volume-mismatch', 'yield-anomaly']);
    expect(b.map((x) => x.alertId)).toEqual(a.map((x) => x.alertId));
    expect(withoutDetectedAt(b)).toEqual(withoutDetectedAt(a));
    expect(new Set(a.map((x) => x.alertId)).size).toBe(a.length);
  });

  it('gives the same alerts however the reports are split into batches', async () => {
    const whole = await replay([scenario], 1);
    const oneByOne = await replay(scenario.map((r) => [r]), 1);
    expect(withoutDetectedAt(oneByOne).sort((x, y) => x.alertId.localeCompare(y.alertId))).toEqual(
      withoutDetectedAt(whole).sort((x, y) => x.alertId.localeCompare(y.alertId)),
    );
  });

  it('derives an alert id from the rule and the finding only', () => {
    expect(alertIdFor('volume-mismatch', 'k')).toBe(alertIdFor('volume-mismatch', 'k'));
    expect(alertIdFor('volume-mismatch', 'k')).toMatch(/^[0-9a-f]{32}$/);
    expect(alertIdFor('unlicensed-client', 'k')).not.toBe(alertIdFor('volume-mismatch', 'k'));
    // The separator keeps "a" + "b|c" and "a|b" + "c" apart.
    expect(alertIdFor('a', 'b|c')).not.toBe(alertIdFor('a|b', 'c'));
  });
});

describe('pipeline: licences', () => {
  it('flags an export of controlled material with no licence', async () => {
    const { pipeline } = setup();
    const ship = reports.shipments({ licenceId: null, material: 'DY_OXIDE', quantityKg: 25 });
    const alerts = await feed(pipeline, [ship]);
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({
      ruleId: 'unlicensed-client',
      producerId: 'P1',
      clientId: 'C1',
      licenceId: null,
      subjectEventIds: [ship.event.reportId],
      severity: 'CRITICAL',
    });
    expect(alerts[0]!.evidence.reasons).toBe('no-licence');
    expectOneSentence(alerts[0]!.summary);
  });

  it.each<[string, Licence | null, string[]]>([
    ['a licence that fits', licence(), []],
    ['a licence the registry never had', null, ['unknown-licence']],
    ['a revoked licence', licence({ status: 'REVOKED' }), ['revoked']],
  ])('judges an export under %s', async (_, lic, reasons) => {
    const { store, pipeline } = setup();
    if (lic) await store.putLicence(lic);
    const alerts = await feed(pipeline, [reports.shipments()]);
    expect(alerts.map((a) => a.evidence.reasons)).toEqual(reasons);
  });

  it('treats a deleted licence (a tombstone) as unknown', async () => {
    const { store, pipeline } = setup();
    await store.putLicence(licence());
    await store.deleteLicence('LIC-1');
    expect((await feed(pipeline, [reports.shipments()])).map((a) => a.evidence.reasons)).toEqual(['unknown-licence']);
  });

  it('never alerts on an uncontrolled export or a domestic transfer without a licence', async () => {
    const { pipeline } = setup();
    const alerts = await feed(pipeline, [
      reports.shipments({ material: 'NDFEB_MAGNET', licenceId: null }),
      reports.shipments({ material: 'NDPR_OXIDE', licenceId: null }),
      domestic({ material: 'TB_OXIDE' }),
    ]);
    expect(alerts).toEqual([]);
  });

  describe('quota', () => {
    const quota = () => licence({ quotaKg: 1000 });
    const exports = () => [400, 400, 300, 200].map((quantityKg, i) => reports.shipments({ quantityKg, occurredAt: at(D0, 8 + i) }));

    it('flags the shipment that crossed the quota, and then each export made with none left', async () => {
      const { store, pipeline } = setup();
      await store.putLicence(quota());
      const ships = exports();
      const alerts = await feed(pipeline, ships);
      expect(alerts.map((a) => [a.ruleId, a.licenceId, a.subjectEventIds[0], a.evidence.check])).toEqual([
        ['licence-quota-exceeded', 'LIC-1', ships[2]!.event.reportId, 'crossing'],
        ['licence-quota-exceeded', 'LIC-1', ships[3]!.event.reportId, 'export-after-quota-used-up'],
      ]);
      expect(alerts[0]!.evidence).toMatchObject({ quotaKg: '1000', usedBeforeKg: '800', usedAfterKg: '1100', overKg: '100' });
      expect(alerts[1]!.evidence).toMatchObject({ usedBeforeKg: '1100', usedAfterKg: '1300', overKg: '300' });
      for (const a of alerts) expectOneSentence(a.summary);
    });

    it('flags each once when the exports come one batch at a time, and not again on redelivery', async () => {
      const { store, pipeline } = setup();
      await store.putLicence(quota());
      const ships = exports();
      const alerts = await feed(pipeline, ...ships.map((s) => [s]), ships);
      expect(alerts.map((a) => a.subjectEventIds)).toEqual([[ships[2]!.event.reportId], [ships[3]!.event.reportId]]);
    });

    it("does not count another exporter's shipments against the holder's quota", async () => {
      const { store, pipeline } = setup();
      await store.putLicence(quota());
      const alerts = await feed(pipeline, [
        reports.shipments({ producerId: 'P9', quantityKg: 900 }),
        reports.shipments({ quantityKg: 400 }),
        reports.shipments({ quantityKg: 400 }),
      ]);
      expect(alerts.map((a) => [a.ruleId, a.producerId, a.evidence.reasons])).toEqual([['unlicensed-client', 'P9', 'other-exporter']]);
    });
  });
});

describe('pipeline: rules on and off', () => {
  it('runs nothing for a producer the rules file turns a rule off for', async () => {
    const { pipeline } = setup('rules:\n  unlicensed-client:\n    overrides:\n      - { producerId: P1, enabled: false }\n');
    const alerts = await feed(pipeline, [reports.shipments({ licenceId: null }), reports.shipments({ producerId: 'P2', licenceId: null })]);
    expect(alerts.map((a) => a.producerId)).toEqual(['P2']);
  });

  it('uses new rules from the next batch after a hot reload', async () => {
    const { pipeline } = setup();
    pipeline.setRules(parseRulesFile('rules:\n  unlicensed-client:\n    enabled: false\n', 'reloaded'));
    expect(pipeline.rules().source).toBe('reloaded');
    expect(await feed(pipeline, [reports.shipments({ licenceId: null })])).toEqual([]);
  });

  // A volume-mismatch check can be for any material, whichever report moved the clock: the
  // per-material switch must follow the check's material.
  it('honours a per-material disable for a balance check fired by another material\'s report', async () => {
    const { pipeline } = setup('rules:\n  volume-mismatch:\n    overrides:\n      - { material: DY_OXIDE, enabled: false }\n');
    const alerts = await feed(pipeline, [domestic({ quantityKg: 100 })], [tick(dayEnd(D0) + GRACE_MS)]);
    expect(alerts).toEqual([]);
  });

  // Disabling volume-mismatch for the ticking report's material (NDPR_OXIDE) must not swallow the
  // DY_OXIDE deficit its arrival made due.
  it("keeps judging other materials' checks when the rule is off for the report's own material", async () => {
    const { pipeline } = setup('rules:\n  volume-mismatch:\n    overrides:\n      - { material: NDPR_OXIDE, enabled: false }\n');
    const alerts = await feed(pipeline, [domestic({ quantityKg: 100 })], [tick(dayEnd(D0) + GRACE_MS)]);
    expect(ruleIds(alerts)).toEqual(['volume-mismatch']);
  });
});

describe('pipeline: per-material grace', () => {
  // A StateUpdate carries one graceMs; the pipeline takes the longest of the materials a report
  // touches, so DY_OXIDE's 240 h holds for the oxide a magnet run consumed.
  it("judges consumed inputs on their own material's grace period", async () => {
    // Oxide is no magnet input the catalogue knows: yield-anomaly's finding, not this test's.
    const { pipeline } = setup('rules:\n  volume-mismatch:\n    overrides:\n      - { material: DY_OXIDE, params: { graceHours: 240 } }\n  yield-anomaly:\n    enabled: false\n');
    const magnets = reports.production({ material: 'NDFEB_DY_MAGNET', quantityKg: 1000, inputs: [{ material: 'DY_OXIDE', quantityKg: 100 }] });
    const alerts = await feed(pipeline, [magnets], [tick(dayEnd(D0) + GRACE_MS)]);
    expect(alerts).toEqual([]);
  });
});

describe('toStateUpdate', () => {
  it('books production as produced and its inputs as consumed', () => {
    const r = reports.production({ material: 'NDFEB_DY_MAGNET', quantityKg: 100, inputs: [{ material: 'NDFEB_ALLOY', quantityKg: 110 }] });
    expect(toStateUpdate(r, null, 5).flows).toEqual([
      { material: 'NDFEB_DY_MAGNET', kind: 'produced', kg: 100 },
      { material: 'NDFEB_ALLOY', kind: 'consumed', kg: 110 },
    ]);
  });

  it.each<[string, Partial<ShipmentReport>, Licence | null, { licenceId: string; kg: number } | undefined]>([
    ['an export under a fitting licence', {}, licence(), { licenceId: 'LIC-1', kg: 100 }],
    ['an export under a licence for another client', { clientId: 'C9' }, licence(), undefined],
    ['an export with no licence', { licenceId: null }, null, undefined],
    ['a domestic transfer', { direction: 'DOMESTIC' }, licence(), undefined],
  ])('counts quota use only for a fitting export: %s', (_, o, lic, licenceUse) => {
    const u = toStateUpdate({ kind: 'shipments', event: shipment(o) }, lic, 5);
    expect(u.licenceUse).toEqual(licenceUse);
  });

  it('books an export as shipped and exported, a domestic transfer as shipped only', () => {
    const kinds = (o: Partial<ShipmentReport>) => toStateUpdate({ kind: 'shipments', event: shipment(o) }, null, 5).flows.map((f) => f.kind);
    expect(kinds({ direction: 'EXPORT' })).toEqual(['shipped', 'exported']);
    expect(kinds({ direction: 'DOMESTIC' })).toEqual(['shipped']);
  });

  it('books a receipt as received and an inventory report as a declaration', () => {
    const r = reports.receipts({ quantityKg: 70 });
    expect(toStateUpdate(r, null, 5)).toMatchObject({ producerId: 'P2', flows: [{ kind: 'received', kg: 70 }], graceMs: 5 });
    const inv = reports.inventory({ material: 'DY_OXIDE', onHandKg: 12 });
    expect(toStateUpdate(inv, null, 5)).toMatchObject({ flows: [], declaration: { material: 'DY_OXIDE', onHandKg: 12 } });
  });
});

describe('pipeline: watchlist-match, two exporters to one listed client', () => {
  const ENTRY: WatchlistEntry = {
    entryId: 'W-1',
    name: 'Zhang Weihong Trading Co., Ltd.',
    aliases: [],
    country: 'HK',
    reason: 'diversion of controlled rare earths',
    listedAt: at(D0 - 10),
  };
  // Each producer ships twice to the listed client; W is the entry arriving on the watchlist topic.
  const exportOf = (producerId: string, reportId: string, day: number): Report =>
    reports.shipments({ producerId, reportId, clientId: 'C7', clientName: 'Chang Wei-Hong Ltd', clientCountry: 'HK', destinationCountry: 'HK', occurredAt: at(D0 + day) });
  const A = [exportOf('PA', 'ship-a1', 1), exportOf('PA', 'ship-a2', 3)];
  const B = [exportOf('PB', 'ship-b1', 2), exportOf('PB', 'ship-b2', 4)];

  /** Feeds the steps in order as the report and watchlist consumers would, keeping the watchlist alerts. */
  async function run(order: string): Promise<Alert[]> {
    const { pipeline } = setup();
    const out: Alert[] = [];
    for (const step of order) {
      const alerts = step === 'W' ? await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }]) : await pipeline.process(step === 'A' ? A : B);
      await pipeline.markPublished(alerts);
      out.push(...alerts.filter((a) => a.ruleId === 'watchlist-match'));
    }
    return out.sort((x, y) => (x.producerId < y.producerId ? -1 : 1));
  }

  it.each(['WAB', 'WBA', 'ABW'])('gives one alert per producer, order %s', async (order) => {
    const alerts = await run(order);
    expect(alerts.map((a) => a.producerId)).toEqual(['PA', 'PB']);
    expect(new Set(alerts.map((a) => a.alertId)).size).toBe(2);
  });

  it('gives the same alerts, field for field but detectedAt, whatever the order, each naming its producer\'s first shipment', async () => {
    const withoutDetectedAt = (alerts: Alert[]) => alerts.map(({ detectedAt: _, ...rest }) => rest);
    const [wab, wba, abw] = await Promise.all(['WAB', 'WBA', 'ABW'].map(run));
    expect(withoutDetectedAt(wba!)).toEqual(withoutDetectedAt(wab!));
    expect(withoutDetectedAt(abw!)).toEqual(withoutDetectedAt(wab!));
    expect(wab!.map((a) => a.subjectEventIds)).toEqual([['ship-a1'], ['ship-b1']]);
  });
});

describe('pipeline: a watchlist-match the other path committed and has not marked yet', () => {
  // A transaction holds what it sends in its group's journal before committing, and marks it
  // published after: a crash in between leaves it held, committed and unmarked, until that
  // group's next owner settles it. Here one pipeline plays both paths; the journals are the two
  // groups', one partition each.
  const ENTRY: WatchlistEntry = { entryId: 'W-9', name: 'Zhang Weihong Trading Co., Ltd.', aliases: [], country: 'HK', reason: 'diversion', listedAt: at(D0 - 10) };
  const relisted = { ...ENTRY, reason: 'diversion, listed again' };
  const exportOf = (reportId: string, day: number): Report =>
    reports.shipments({ producerId: 'PA', reportId, clientId: 'C7', clientName: 'Chang Wei-Hong Ltd', clientCountry: 'HK', destinationCountry: 'HK', occurredAt: at(D0 + day) });
  const matches = (alerts: Alert[]) => alerts.filter((a) => a.ruleId === 'watchlist-match');

  /** As other-path-holds.ts reads them: every report transaction held; a watchlist one once the group's offset names it (`watchlistCommitted`). */
  function twoPaths(): { pipeline: Pipeline; journals: Record<PublishingPath, TxnJournal>; watchlistCommitted: Set<string> } {
    const journals = { reports: createMemoryTxnJournal(), watchlist: createMemoryTxnJournal() };
    const watchlistCommitted = new Set<string>();
    const heldByOtherPath = (asking: PublishingPath) =>
      asking === 'watchlist' ? heldRevisions(journals.reports, [0]) : heldRevisions(journals.watchlist, [0], async () => (_p, txn) => watchlistCommitted.has(txn));
    const pipeline = createPipeline({ store: createEngineMemoryStore(), rules: parseRulesFile('', 'test rules'), catalogue, now: () => 1_000, heldByOtherPath });
    return { pipeline, journals, watchlistCommitted };
  }
  const settle = (pipeline: Pipeline, journal: TxnJournal, committed: boolean) => settleHeld(journal, [0], () => committed, (alerts) => pipeline.markPublished(alerts));

  it('a listing screened while a report batch holds the finding publishes nothing; once that batch is settled as committed, neither path publishes it', async () => {
    const { pipeline, journals } = twoPaths();
    expect(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }])).toEqual([]);
    const found = matches(await pipeline.process([exportOf('ship-1', 1)]));
    expect(found).toHaveLength(1);
    await journals.reports.hold(0, 'txn-r', found);
    expect(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }])).toEqual([]);
    await settle(pipeline, journals.reports, true);
    expect(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }])).toEqual([]);
    expect(matches(await pipeline.fireTimers())).toEqual([]);
  });

  it('a report batch finding what a watchlist change committed and has not marked publishes nothing; once settled, neither path publishes it', async () => {
    const { pipeline, journals, watchlistCommitted } = twoPaths();
    await feed(pipeline, [exportOf('ship-1', 1)]);
    const found = await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }]);
    expect(found).toHaveLength(1);
    await journals.watchlist.hold(0, 'txn-w', found);
    watchlistCommitted.add('txn-w');
    expect(matches(await pipeline.process([exportOf('ship-2', 3)]))).toEqual([]);
    await settle(pipeline, journals.watchlist, true);
    expect(matches(await pipeline.process([exportOf('ship-3', 5)]))).toEqual([]);
    expect(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }])).toEqual([]);
  });

  it('a report batch publishes what a watchlist change holds but has not committed: nothing would screen that change again once a later one commits past it', async () => {
    const { pipeline, journals } = twoPaths();
    await feed(pipeline, [exportOf('ship-1', 1)]);
    const found = await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }]);
    await journals.watchlist.hold(0, 'txn-open', found);
    expect(matches(await pipeline.process([exportOf('ship-2', 3)])).map((a) => a.alertId)).toEqual(found.map((a) => a.alertId));
  });

  it('a report batch whose own transaction never committed sends the finding again, once the watchlist path has left it alone', async () => {
    const { pipeline, journals } = twoPaths();
    await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }]);
    const found = matches(await pipeline.process([exportOf('ship-1', 1)]));
    await journals.reports.hold(0, 'txn-r', found);
    expect(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }])).toEqual([]);
    await settle(pipeline, journals.reports, false);
    // The redelivered batch finds its report applied and re-sends the producer's outbox.
    expect(matches(await pipeline.process([exportOf('ship-1', 1)])).map((a) => a.alertId)).toEqual(found.map((a) => a.alertId));
  });

  it('without the journals asked, the first case publishes the finding twice (the checks above are not vacuous)', async () => {
    const { pipeline } = setup();
    await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }]);
    const found = matches(await pipeline.process([exportOf('ship-1', 1)]));
    expect(matches(await pipeline.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }])).map((a) => a.alertId)).toEqual(found.map((a) => a.alertId));
  });
});

describe('pipeline: a watchlist-match both paths find at once, on two instances', () => {
  // Two pipelines over one store play the two instances: W screens a listing (the watchlist path),
  // R runs a report transaction (`sending`) for the shipment that makes the same finding. Each path
  // claims the finding before sending it (store.ts claimAlerts); journals and markers alone let
  // both send it when neither had committed yet (the README's old caveat).
  const ENTRY: WatchlistEntry = { entryId: 'W-5', name: 'Zhang Weihong Trading Co., Ltd.', aliases: [], country: 'HK', reason: 'diversion', listedAt: at(D0 - 10) };
  const relisted = { ...ENTRY, reason: 'diversion, listed again' };
  const ship1 = reports.shipments({ producerId: 'PA', reportId: 'ship-1', clientId: 'C7', clientName: 'Chang Wei-Hong Ltd', clientCountry: 'HK', destinationCountry: 'HK', occurredAt: at(D0 + 1) });
  const origins = [{ source: 'p0', partition: 0 }];
  const sending = (txn: string) => ({ txn, topic: 'r.shipments.v1', partition: 0, offset: '1' });
  const matches = (alerts: Alert[]) => alerts.filter((a) => a.ruleId === 'watchlist-match');
  const W_TXN = { path: 'watchlist', txn: 'txn-w' } as const;

  /**
   * The listing already stored and the client already seen, as when the two arrive together.
   * `refused` settles when a claim is first refused as the other path's: the report transaction
   * is then waiting, and the watchlist path's next step may come.
   */
  async function twoInstances(contestedWaitMs?: number, claimStillHeld?: (holder: { txn: string; partition?: number | undefined }) => Promise<boolean>) {
    const store = createEngineMemoryStore();
    const claimAlerts = store.claimAlerts.bind(store);
    let onRefused: () => void = () => undefined;
    const refused = new Promise<void>((resolve) => (onRefused = resolve));
    store.claimAlerts = async (alerts, claimant) => {
      const outcomes = await claimAlerts(alerts, claimant);
      if (outcomes.includes('other-path')) onRefused();
      return outcomes;
    };
    const rules = parseRulesFile('', 'test rules');
    const W = createPipeline({ store, rules, catalogue, now: () => 1_000 });
    const R = createPipeline({ store, rules, catalogue, now: () => 1_000, heldByOtherPath: async () => new Map(), contestedWaitMs, claimStillHeld });
    expect(await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: ENTRY }])).toEqual([]);
    if (ship1.kind !== 'shipments') throw new Error('a shipment');
    await store.recordClients([sightingOf(ship1.event)]);
    /** Once the report transaction is waiting on a claim (and a few polls later), `work`. */
    const whileWaiting = async (work: () => Promise<void>) => {
      await refused;
      await new Promise((resolve) => setTimeout(resolve, 50));
      await work();
    };
    return { store, W, R, whileWaiting };
  }

  it('the watchlist path claimed it first: the report transaction waits for it, and leaves it once it is marked published', async () => {
    const { W, R, whileWaiting } = await twoInstances();
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    expect(matches(screened)).toHaveLength(1);
    const sent = await W.claim(screened, W_TXN);
    expect(sent).toEqual(screened);
    const [fromReports] = await Promise.all([R.process([ship1], origins, sending('txn-r1')), whileWaiting(() => W.markPublished(sent))]);
    expect(matches(fromReports)).toEqual([]);
    // The producer's outbox knows it went out: no later transaction sends it.
    expect(matches(await R.fireTimers([0], { ...sending('txn-r2'), seq: 1 }))).toEqual([]);
  });

  it('the watchlist transaction did not commit: it lets go, the report transaction sends the alert, and the change screened again leaves it to that path', async () => {
    const { W, R, whileWaiting } = await twoInstances();
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    const sent = await W.claim(screened, W_TXN);
    const [fromReports] = await Promise.all([R.process([ship1], origins, sending('txn-r1')), whileWaiting(() => W.releaseClaims(sent, W_TXN))]);
    expect(matches(fromReports).map((a) => a.alertId)).toEqual(matches(screened).map((a) => a.alertId));
    // The change redelivered and screened again (a new transaction) finds the report path's claim.
    const again = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    expect(matches(again)).toHaveLength(1);
    expect(await W.claim(again, { path: 'watchlist', txn: 'txn-w2' })).toEqual([]);
  });

  it('the report transaction claimed it first: the watchlist path leaves it, and the report path sends it again until it commits', async () => {
    const { W, R } = await twoInstances();
    const fromReports = matches(await R.process([ship1], origins, sending('txn-r1')));
    expect(fromReports).toHaveLength(1);
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    expect(matches(screened).map((a) => a.alertId)).toEqual(fromReports.map((a) => a.alertId));
    expect(await W.claim(screened, W_TXN)).toEqual([]);
    // txn-r1 never committed: the next transaction of the index sends the outbox again, still claimed.
    expect(matches(await R.fireTimers([0], { ...sending('txn-r2'), seq: 1 })).map((a) => a.alertId)).toEqual(fromReports.map((a) => a.alertId));
  });

  it('a claim the watchlist path never lets go (its instance died) fails the report transaction as retriable, and the retry sends it once the claim is gone', async () => {
    const { W, R } = await twoInstances(100);
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    await W.claim(screened, W_TXN);
    await expect(R.process([ship1], origins, sending('txn-r1'))).rejects.toMatchObject({ code: 'REE_ERR_UNAVAILABLE', retriable: true, message: expect.stringContaining('watchlist path still holds 1') });
    // Its partition's next owner settles the dead transaction as never committed.
    await settleHeld(
      { held: async () => new Map([[W_TXN.txn, screened]]), hold: async () => undefined, release: async () => undefined },
      [0],
      () => false,
      (alerts) => W.markPublished(alerts),
      (alerts, txn) => W.releaseClaims(alerts, { path: 'watchlist', txn }),
    );
    expect(matches(await R.process([ship1], origins, sending('txn-r2'))).map((a) => a.alertId)).toEqual(matches(screened).map((a) => a.alertId));
  });

  it("a claim whose watchlist transaction its partition's journal no longer holds (a zombie's, made after its successor settled) is let go, and the report transaction sends the alert", async () => {
    const asked: string[] = [];
    const { W, R } = await twoInstances(10_000, async (holder) => (asked.push(`${holder.txn}@${holder.partition}`), holder.txn !== 'txn-zombie'));
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    await W.claim(screened, { path: 'watchlist', txn: 'txn-zombie', partition: 3 });
    expect(matches(await R.process([ship1], origins, sending('txn-r1'))).map((a) => a.alertId)).toEqual(matches(screened).map((a) => a.alertId));
    expect(asked).toEqual(['txn-zombie@3']);
  });

  it('a claim whose watchlist transaction is still held is waited for, however long', async () => {
    const asked: string[] = [];
    const { W, R } = await twoInstances(1_500, async (holder) => (asked.push(holder.txn), true));
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    await W.claim(screened, { path: 'watchlist', txn: 'txn-live', partition: 3 });
    await expect(R.process([ship1], origins, sending('txn-r1'))).rejects.toMatchObject({ code: 'REE_ERR_UNAVAILABLE' });
    expect(asked.length).toBeGreaterThan(0);
    expect(new Set(asked)).toEqual(new Set(['txn-live']));
  });

  it('without a transaction (replay, at-least-once tests) nothing is claimed: both paths send it, as before claims (the cases above are not vacuous)', async () => {
    const { W, R } = await twoInstances();
    const screened = await W.applyWatchlist([{ entryId: ENTRY.entryId, entry: relisted }]);
    await W.claim(screened, W_TXN);
    expect(matches(await R.process([ship1], origins)).map((a) => a.alertId)).toEqual(matches(screened).map((a) => a.alertId));
  });
});

describe('pipeline: outbox entries sent in a Kafka transaction', () => {
  it('leave the timer index once the group has committed their transaction', async () => {
    const timerIndex = createMemoryTimerIndex();
    const committed = new CommittedOffsets();
    committed.reset([{ topic: 'r.shipments.v1', partition: 0, offset: '0' }]);
    const pipeline = createPipeline({ store: createEngineMemoryStore(), rules: parseRulesFile('', 'test rules'), catalogue, timerIndex, committed, now: () => 1_000 });
    const sent = await pipeline.process([reports.shipments({ licenceId: null })], [{ source: 'p0', partition: 0 }], { txn: 't1', topic: 'r.shipments.v1', partition: 0, offset: '1' });
    expect(ruleIds(sent)).toEqual(['unlicensed-client']);
    // Waiting in the outbox (due at once) until the group's committed offset passes its transaction.
    expect(await timerIndex.due(0, -Infinity)).toEqual(['P1']);
    committed.note('r.shipments.v1', 0, '1');
    expect(await pipeline.fireTimers([0], { txn: 't2', topic: 'r.shipments.v1', partition: 0, offset: '1', seq: 1 })).toEqual([]);
    // The pass emptied the outbox: nothing brings P1 back to the next pass.
    expect(await timerIndex.due(0, -Infinity)).toEqual([]);
  });
});

describe('pipeline: the timer index set under the ownership epoch', () => {
  it("sets each run's entries under the epoch read before that run, not one taken during it (an assignment's renewal)", async () => {
    const index = createMemoryTimerIndex();
    const setUnder: (number | undefined)[] = [];
    let epoch = 7;
    const timerIndex = {
      ...index,
      // Lowered inside the run, before its save: an assignment's renewal lands there.
      lower: (entries: Parameters<typeof index.lower>[0]) => ((epoch += 10), index.lower(entries)),
      set: (entries: Parameters<typeof index.set>[0], under?: number) => (setUnder.push(under), index.set(entries, under)),
    };
    const pipeline = createPipeline({ store: createEngineMemoryStore(), rules: parseRulesFile('', 'test rules'), catalogue, timerIndex, now: () => 1_000, ownershipEpoch: async () => epoch });
    await pipeline.process([reports.shipments({ licenceId: null })]);
    await pipeline.process([reports.shipments({ licenceId: null, producerId: 'P2' })]);
    expect(setUnder).toEqual([7, 17]);
    expect(await index.due(0, -Infinity)).toEqual(['P1', 'P2']);
  });
});

describe('pipeline: a batch run producer by producer', () => {
  it("runs each producer's reports together, in batch order, whatever the batch interleaves", async () => {
    const store = createEngineMemoryStore();
    const asked: string[] = [];
    const run = store.engine.run.bind(store.engine);
    store.engine.run = (ids, work, beforeSave) => run(ids, (stateOf) => work((id) => (asked.push(id), stateOf(id))), beforeSave);
    const pipeline = createPipeline({ store, rules: parseRulesFile('', 'test rules'), catalogue, now: () => 1_000 });
    const batch = [
      reports.production({ producerId: 'P1', reportId: 'PRD-1', occurredAt: at(D0, 1) }),
      reports.production({ producerId: 'P2', reportId: 'PRD-2', occurredAt: at(D0, 2) }),
      reports.production({ producerId: 'P1', reportId: 'PRD-3', occurredAt: at(D0, 3) }),
      reports.production({ producerId: 'P3', reportId: 'PRD-4', occurredAt: at(D0, 4) }),
      reports.production({ producerId: 'P2', reportId: 'PRD-5', occurredAt: at(D0, 5) }),
    ];
    await pipeline.process(batch);
    // The run visits each producer once before the reports and once after (their outboxes); between, the reports.
    expect(asked).toEqual(['P1', 'P2', 'P3', 'P1', 'P1', 'P2', 'P2', 'P3', 'P1', 'P2', 'P3']);
  });
});
