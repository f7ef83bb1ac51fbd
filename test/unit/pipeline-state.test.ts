/**
 * Rules' own state on the engine, through the real pipeline (memory engine, memory durability):
 * cells kept across batches and evictions, timers fired on the event-time watermark in
 * (dueAt, producerId, ruleId, key) order, a silent producer's timer, the outbox on redelivery,
 * revisions. The rule is test/helpers/tally-rule.ts.
 */
import { describe, expect, it, vi } from 'vitest';
import { parseRulesFile } from '../../src/config/rules-file.ts';
import type { Alert, Report } from '../../src/domain/events.ts';
import { HOUR_MS } from '../../src/domain/time.ts';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.ts';
import { createMemoryTimerIndex, type TimerIndex } from '../../src/pipeline/timer-index.ts';
import { createMemoryWatermark } from '../../src/pipeline/watermark-tracker.ts';
import { createMemoryCustodyLedger, type CustodyLedger } from '../../src/state/custody-ledger.ts';
import { createMemoryDurability, type Durability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { undervaluation } from '../../src/rules/undervaluation.ts';
import { D0, at, reports, testCatalogue } from '../helpers/builders.ts';
import { SILENCE_MS, createTallyRule, type TallyRule } from '../helpers/tally-rule.ts';

interface Setup {
  pipeline: Pipeline;
  tally: TallyRule;
}

/** A pipeline whose engine keeps at most `cached` producers in memory, the rest in `durability`. */
function setup(o: { durability?: Durability; index?: TimerIndex; custody?: CustodyLedger; cached?: number; tally?: TallyRule } = {}): Setup {
  const tally = o.tally ?? createTallyRule();
  const store = createEngineMemoryStore({ durability: o.durability ?? createMemoryDurability(), maxCachedProducers: o.cached ?? 1 });
  const pipeline = createPipeline({
    store,
    rules: parseRulesFile('', 'test rules', [tally.rule]),
    catalogue: testCatalogue(),
    watermark: createMemoryWatermark(0),
    timerIndex: o.index ?? createMemoryTimerIndex(),
    custody: o.custody,
    now: () => 1_000,
  });
  return { pipeline, tally };
}

const onePartition = (rs: Report[]) => rs.map(() => ({ source: 'reports/0', partition: 0 }));

/**
 * One batch as the consumer runs it: process, publish, mark, then the timers it made due, published
 * and marked. Every report is read on one partition, so the watermark is simply the latest time.
 */
async function batch(pipeline: Pipeline, reportsIn: Report[], publish = true): Promise<Alert[]> {
  const found = await pipeline.process(reportsIn, onePartition(reportsIn));
  if (publish) await pipeline.markPublished(found);
  const fired = await pipeline.fireTimers();
  if (publish) await pipeline.markPublished(fired);
  return [...found, ...fired];
}

const made = (producerId: string, occurredAt: number): Report =>
  reports.production({ producerId, material: 'NDPR_OXIDE', stage: 'SEPARATION', quantityKg: 1, occurredAt });
const tallies = (alerts: Alert[]) => alerts.filter((a) => a.evidence.tally !== undefined);
const silences = (alerts: Alert[]) => alerts.filter((a) => a.summary.includes('silent'));

describe('pipeline: a rule keeps state across batches', () => {
  it('tallies one producer across batches, other producers in between evicting it from memory', async () => {
    const { pipeline } = setup({ cached: 1 });
    const [a, b, c] = [made('P1', at(D0, 1)), made('P1', at(D0, 2)), made('P1', at(D0, 3))];
    expect(await batch(pipeline, [a])).toEqual([]);
    await batch(pipeline, [made('P2', at(D0, 1))]);
    const second = tallies(await batch(pipeline, [b]));
    await batch(pipeline, [made('P3', at(D0, 1))]);
    const third = tallies(await batch(pipeline, [c]));
    expect(second.map((x) => [x.revision, x.subjectEventIds])).toEqual([[2, [a.event.reportId, b.event.reportId]]]);
    expect(third.map((x) => [x.revision, x.subjectEventIds])).toEqual([[3, [a.event.reportId, b.event.reportId, c.event.reportId]]]);
    expect(third[0]!.alertId).toBe(second[0]!.alertId);
  });

  it('gives each rule input the watermark as the batch starts: the earlier batches less the lateness', async () => {
    const { pipeline } = setup();
    await batch(pipeline, [made('P1', at(D0, 5))]);
    const [alert] = tallies(await batch(pipeline, [made('P1', at(D0, 9))]));
    expect(alert!.evidence.watermark).toBe(String(at(D0, 5)));
  });
});

describe('pipeline: timers on the event-time watermark', () => {
  it('fires nothing before the watermark reaches a due time, and each timer once when it does', async () => {
    const { pipeline } = setup();
    const first = made('P1', at(D0, 0));
    await batch(pipeline, [first]);
    expect(silences(await batch(pipeline, [made('P2', at(D0, 0) + SILENCE_MS - 1)]))).toEqual([]);
    const fired = silences(await batch(pipeline, [made('P2', at(D0, 0) + SILENCE_MS)]));
    expect(fired.map((a) => [a.producerId, a.subjectEventIds])).toEqual([['P1', [first.event.reportId]]]);
    // P2's own report at the same time would have reset its timer: another producer moves the watermark.
    expect(silences(await batch(pipeline, [made('P3', at(D0, 0) + 2 * SILENCE_MS)])).map((a) => a.producerId)).toEqual(['P2']);
  });

  it('fires in (dueAt, producerId) order whatever order the producers reported in', async () => {
    const { pipeline } = setup({ cached: 10 });
    await batch(pipeline, [made('P3', at(D0, 2)), made('P2', at(D0, 1)), made('P1', at(D0, 2))]);
    const fired = silences(await batch(pipeline, [made('P9', at(D0, 3) + SILENCE_MS)]));
    expect(fired.map((a) => `${a.producerId}@${a.evidence.dueAt}`)).toEqual([
      `P2@${at(D0, 1) + SILENCE_MS}`,
      `P1@${at(D0, 2) + SILENCE_MS}`,
      `P3@${at(D0, 2) + SILENCE_MS}`,
    ]);
  });

  it("fires a silent producer's timer after a restart: state and timer index durable, nothing in memory", async () => {
    const durability = createMemoryDurability();
    const index = createMemoryTimerIndex();
    const before = setup({ durability, index });
    const last = made('P1', at(D0, 0));
    await batch(before.pipeline, [last]);
    // A new process: a new engine (empty memory) and watermark, the same durable state and index.
    const after = setup({ durability, index });
    const fired = silences(await batch(after.pipeline, [made('P2', at(D0, 0) + SILENCE_MS)]));
    expect(fired.map((a) => [a.producerId, a.subjectEventIds])).toEqual([['P1', [last.event.reportId]]]);
  });

  it("hands a timer naming a shipment the custody ledger's record as it stands when it fires", async () => {
    const custody = createMemoryCustodyLedger();
    const { pipeline } = setup({ custody, cached: 10 });
    const ship = reports.shipments({ producerId: 'P1', direction: 'DOMESTIC', clientId: 'P2', licenceId: null, material: 'DY_OXIDE', occurredAt: at(D0, 0) });
    const [shipAlerts] = [await batch(pipeline, [ship])];
    expect(shipAlerts).toEqual([]);
    const receipt = reports.receipts({ producerId: 'P2', supplierId: 'P1', shipmentId: ship.kind === 'shipments' ? ship.event.shipmentId : '', material: 'DY_OXIDE', occurredAt: at(D0, 5) });
    await batch(pipeline, [receipt]);
    const fired = (await batch(pipeline, [made('P9', at(D0, 0) + SILENCE_MS)])).filter((a) => a.evidence.receipt !== undefined);
    expect(fired.map((a) => [a.producerId, a.subjectEventIds, a.evidence.receipt])).toEqual([['P1', [ship.event.reportId], receipt.event.reportId]]);
  });
});

/**
 * P1 read on partition 1 and P2 on partition 2, then reports on partition 3 from both sources that
 * move the watermark past their silence: both have a timer due, each on its own partition.
 */
async function silentOnTwoPartitions(pipeline: Pipeline): Promise<void> {
  const on = (partition: number, source = partition) => (rs: Report[]) => rs.map(() => ({ source: `reports/${source}`, partition }));
  const p1 = [made('P1', at(D0, 0))];
  const p2 = [made('P2', at(D0, 1))];
  await pipeline.process(p1, on(1)(p1));
  await pipeline.process(p2, on(2)(p2));
  const late = [made('P3', at(D0, 1) + SILENCE_MS)];
  await pipeline.process(late, on(3, 1)(late));
  const more = [made('P4', at(D0, 1) + SILENCE_MS)];
  await pipeline.process(more, on(3, 2)(more));
}

describe('pipeline: firing several partitions', () => {
  it("looks up every partition's due producers in one call, at one watermark, and fires each partition's", async () => {
    const memory = createMemoryTimerIndex();
    const looks: { partitions: readonly number[]; time: number }[] = [];
    // Only the one look for all partitions: a look per partition cost a round trip each, in turn.
    const index: TimerIndex = {
      ...memory,
      due: () => Promise.reject(new Error('one look per partition')),
      dueIn: (partitions, time) => {
        looks.push({ partitions, time });
        return memory.dueIn(partitions, time);
      },
    };
    const { pipeline } = setup({ index, cached: 10 });
    await silentOnTwoPartitions(pipeline);
    const fired = silences(await pipeline.fireTimers([2, 1, 3]));
    expect(looks).toEqual([{ partitions: [1, 2, 3], time: at(D0, 1) + SILENCE_MS }]);
    expect(fired.map((a) => a.producerId)).toEqual(['P1', 'P2']);
  });

  it("fires the partitions side by side, and gives their alerts in partition order", async () => {
    const memory = createMemoryTimerIndex();
    let setting = 0;
    let most = 0;
    // Each partition's index update (after its save) waits a turn of the event loop: fired one
    // after another, no two are ever out at once.
    const index: TimerIndex = {
      ...memory,
      set: async (entries) => {
        setting += 1;
        most = Math.max(most, setting);
        await new Promise<void>((r) => setImmediate(r));
        setting -= 1;
        return memory.set(entries);
      },
    };
    const { pipeline } = setup({ index, cached: 10 });
    await silentOnTwoPartitions(pipeline);
    most = 0;
    const fired = silences(await pipeline.fireTimers([2, 1]));
    expect(most).toBe(2);
    expect(fired.map((a) => a.producerId)).toEqual(['P1', 'P2']);
  });
});

describe('pipeline: after the save', () => {
  it('reads the published markers while the watermark advances, not after it', async () => {
    const tally = createTallyRule();
    const store = createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 10 });
    const calls: string[] = [];
    const unpublishedAlerts = store.unpublishedAlerts.bind(store);
    store.unpublishedAlerts = async (alerts) => {
      calls.push('markers read');
      return unpublishedAlerts(alerts);
    };
    const memory = createMemoryWatermark(0);
    let advanced: () => void = () => undefined;
    // The advance answers only once the markers have been read: were they read after it, the batch would never end.
    const watermark = {
      ...memory,
      advance: async (latest: ReadonlyMap<string, number>) => {
        calls.push('advance sent');
        await new Promise<void>((resolve) => (advanced = resolve));
        return memory.advance(latest);
      },
    };
    const pipeline = createPipeline({ store, rules: parseRulesFile('', 'test rules', [tally.rule]), catalogue: testCatalogue(), watermark, now: () => 1_000 });
    const two = [made('P1', at(D0, 1)), made('P1', at(D0, 2))];
    const processed = pipeline.process(two, onePartition(two));
    await vi.waitFor(() => expect(calls).toEqual(['advance sent', 'markers read']));
    advanced();
    expect(tallies(await processed).map((a) => a.revision)).toEqual([2]);
  });
});

describe('pipeline: the outbox on redelivery', () => {
  it('re-sends the alerts of a redelivered batch from the outbox without evaluating its reports again', async () => {
    const { pipeline, tally } = setup();
    const batchReports = [made('P1', at(D0, 1)), made('P1', at(D0, 2))];
    const first = await pipeline.process(batchReports, onePartition(batchReports));
    const calls = tally.calls.evaluate;
    // A crash before the alerts were published: Kafka redelivers the batch.
    const again = await pipeline.process(batchReports, onePartition(batchReports));
    expect(tally.calls.evaluate).toBe(calls);
    expect(again).toEqual(first);
    expect(first.map((a) => a.revision)).toEqual([2]);
    await pipeline.markPublished(again);
    expect(await pipeline.process(batchReports, onePartition(batchReports))).toEqual([]);
    expect(await pipeline.fireTimers()).toEqual([]);
  });

  it('re-sends timer alerts lost between the save and the publish at the next timer pass', async () => {
    const { pipeline } = setup();
    await batch(pipeline, [made('P1', at(D0, 0))]);
    const later = [made('P2', at(D0, 0) + SILENCE_MS)];
    await pipeline.process(later, onePartition(later));
    const lost = silences(await pipeline.fireTimers());
    expect(lost.map((a) => a.producerId)).toEqual(['P1']);
    // Not marked published (a crash): the next pass sends it again, once marked it is gone.
    const resent = silences(await pipeline.fireTimers());
    expect(resent).toEqual(lost);
    await pipeline.markPublished(resent);
    expect(await pipeline.fireTimers()).toEqual([]);
  });
});

describe('pipeline: revisions', () => {
  it('publishes only the highest revision reached in a batch, and a higher one in a later batch', async () => {
    const { pipeline } = setup();
    const inOne = tallies(await batch(pipeline, [made('P1', at(D0, 1)), made('P1', at(D0, 2)), made('P1', at(D0, 3))]));
    expect(inOne.map((a) => a.revision)).toEqual([3]);
    expect(inOne[0]!.subjectEventIds).toHaveLength(3);
    const later = tallies(await batch(pipeline, [made('P1', at(D0, 4))]));
    expect(later.map((a) => [a.alertId, a.revision])).toEqual([[inOne[0]!.alertId, 4]]);
  });

  it('does not publish a revision again once published', async () => {
    const { pipeline } = setup();
    await batch(pipeline, [made('P1', at(D0, 1)), made('P1', at(D0, 2))]);
    // The inventory report re-states the finding at revision 2.
    const restated = await batch(pipeline, [reports.inventory({ producerId: 'P1', material: 'NDPR_OXIDE', onHandKg: 0, occurredAt: at(D0, 3) })]);
    expect(tallies(restated)).toEqual([]);
  });
});

describe('pipeline: the watermark over partitions', () => {
  it('is the minimum over the sources with data, less the lateness, and never moves back', async () => {
    const { pipeline } = setup();
    await pipeline.process([made('P1', at(D0, 10))], [{ source: 'production/0', partition: 0 }]);
    expect(pipeline.watermark()).toBe(at(D0, 10));
    await pipeline.process([made('P2', at(D0, 4))], [{ source: 'production/1', partition: 1 }]);
    expect(pipeline.watermark()).toBe(at(D0, 10));
    await pipeline.process([made('P2', at(D0, 12))], [{ source: 'production/1', partition: 1 }]);
    expect(pipeline.watermark()).toBe(at(D0, 10));
    await pipeline.process([made('P1', at(D0, 20))], [{ source: 'production/0', partition: 0 }]);
    expect(pipeline.watermark()).toBe(at(D0, 12));
  });

  it('fires only the partitions it is asked to', async () => {
    const { pipeline } = setup({ cached: 10 });
    await pipeline.process([made('P1', at(D0, 0))], [{ source: 'production/0', partition: 0 }]);
    await pipeline.process([made('P2', at(D0, 0))], [{ source: 'production/1', partition: 1 }]);
    await pipeline.process([made('P3', at(D0, 0) + SILENCE_MS + HOUR_MS)], [{ source: 'production/0', partition: 0 }]);
    await pipeline.process([made('P4', at(D0, 0) + SILENCE_MS + HOUR_MS)], [{ source: 'production/1', partition: 1 }]);
    expect(silences(await pipeline.fireTimers([1])).map((a) => a.producerId)).toEqual(['P2']);
    expect(silences(await pipeline.fireTimers([0])).map((a) => a.producerId)).toEqual(['P1']);
  });
});

describe('pipeline: an exporter’s price history is producer state', () => {
  it('carries the prices across batches and evictions, once per report, for undervaluation’s recent-distribution check', async () => {
    const store = createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 1 });
    const pipeline = createPipeline({
      store,
      rules: parseRulesFile('', 'test rules', [undervaluation]),
      catalogue: testCatalogue(),
      watermark: createMemoryWatermark(0),
      now: () => 1_000,
    });
    const sale = (day: number, usdPerKg: number) =>
      reports.shipments({ producerId: 'P1', licenceId: null, material: 'NDFEB_MAGNET', quantityKg: 100, declaredValueUsd: 100 * usdPerKg, occurredAt: at(D0 + day) });
    const sales = Array.from({ length: 10 }, (_, d) => sale(d, 90 + (d % 3)));
    for (const [d, s] of sales.entries()) {
      // Another producer's report in every batch: P1 is saved, evicted and loaded back each time.
      expect(await batch(pipeline, [s, made('P2', at(D0 + d))])).toEqual([]);
    }
    // Redelivered: already applied, and the history still holds ten prices.
    await batch(pipeline, [sales[4]!]);
    const [alert] = await batch(pipeline, [sale(10, 40)]);
    expect(alert).toMatchObject({ ruleId: 'undervaluation', evidence: { history: 'scored', historyPrices: '10' } });
    expect(alert!.evidence.checks).toContain('recent-distribution');
  });
});
