/**
 * The simulator: reproducible from its seed, every record valid, clean traffic that the detector
 * finds nothing in, and injected anomalies that the detector finds, each under its label.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { topicNames } from '../../src/config/topics.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import { REPORT_SCHEMAS, licence as licenceSchema, productionQuota, watchlistEntry, type Alert, type ProductionQuota, type Report, type ReportKind, type ShipmentReport } from '../../src/domain/events.ts';
import { validateLicence, validateReport, validateWatchlistEntry } from '../../src/domain/validate.ts';
import { INJECTORS } from '../../src/sim/anomalies/index.ts';
import { quotaOverrun, quotaOverrunParams } from '../../src/rules/quota-overrun.ts';
import type { AlertDraft } from '../../src/rules/rule.ts';
import { ProducerState } from '../../src/state/engine/producer-state.ts';
import { ruleStateOf } from '../../src/state/rule-state.ts';
import { paramsFrom, ruleInput } from '../helpers/builders.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { createMemoryQuotaRegister } from '../../src/state/quota-register.ts';
import { Rng } from '../../src/sim/random.ts';
import { yearsOf } from '../../src/sim/quotas.ts';
import { simulate, simulateRecords } from '../../src/sim/simulate.ts';
import type { Label, RecordingLine, SimResult } from '../../src/sim/types.ts';
import { writeLabels, writeSimulation } from '../../src/sim/write-recording.ts';

const TOPICS = topicNames('ree');
const KIND_OF = new Map<string, string>(Object.entries(TOPICS).map(([kind, topic]) => [topic, kind]));
const HOUR = 3_600_000;

const digest = (r: SimResult): string => createHash('sha256').update(JSON.stringify([r.records, r.labels, r.stats])).digest('hex');

/** Replays a simulation through the detector as `replay` would: reference records in file order, reports in batches. */
async function detect(records: RecordingLine[]): Promise<Alert[]> {
  const store = createEngineMemoryStore();
  const quotas = createMemoryQuotaRegister();
  const pipeline = createPipeline({ store, quotas, rules: loadRulesFile(), catalogue: loadCatalogue(), now: () => 0 });
  const alerts: Alert[] = [];
  let batch: Report[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const found = await pipeline.process(batch);
    await pipeline.markPublished(found);
    alerts.push(...found);
    // After every batch, as replay and run do: the rule timers the watermark has passed fire.
    const fired = await pipeline.fireTimers();
    await pipeline.markPublished(fired);
    alerts.push(...fired);
    batch = [];
  };
  for (const line of records) {
    const kind = KIND_OF.get(line.topic);
    if (kind === 'licences') {
      await flush();
      await store.putLicence(validateLicence(line.value));
    } else if (kind === 'watchlist') {
      await flush();
      const entry = validateWatchlistEntry(line.value);
      const found = await pipeline.applyWatchlist([{ entryId: entry.entryId, entry }]);
      await pipeline.markPublished(found);
      alerts.push(...found);
    } else if (kind === 'quotas') {
      await flush();
      await quotas.putQuota(productionQuota.parse(line.value));
    } else {
      batch.push(validateReport(kind as ReportKind, line.value));
      if (batch.length >= 500) await flush();
    }
  }
  await flush();
  return alerts;
}

/**
 * quota-overrun's first findings over a simulation, the stream read in order with each producer's
 * rule state kept and its quotas as they stand when a report arrives, as the pipeline runs it: the
 * rule alone, so a label that disagrees with it is told apart from the pipeline's wiring.
 */
function quotaFindings(records: RecordingLine[]): AlertDraft[] {
  const quotas = new Map<string, ProductionQuota>();
  const states = new Map<string, ProducerState>();
  const params = paramsFrom(quotaOverrunParams);
  const found: AlertDraft[] = [];
  for (const line of records) {
    if (line.topic === TOPICS.quotas) {
      const q = productionQuota.parse(line.value);
      quotas.set(q.quotaId, q);
    } else if (line.topic === TOPICS.production) {
      const report = validateReport('production', line.value);
      const producerId = report.event.producerId;
      if (!states.has(producerId)) states.set(producerId, new ProducerState(producerId));
      const own = [...quotas.values()].filter((q) => q.producerId === producerId);
      found.push(...quotaOverrun.evaluate(ruleInput(report, { state: ruleStateOf(states.get(producerId)!, quotaOverrun.id), quotas: own }), params));
    }
  }
  return found.filter((d) => (d.revision ?? 1) === 1);
}

const detects = (alert: Alert, label: Label): boolean =>
  alert.ruleId === label.ruleId && alert.subjectEventIds.some((id) => label.subjectEventIds.includes(id));

describe('simulator', () => {
  const small = { seed: 7, producers: 30, days: 20 };

  it('gives the same output for the same seed and a different one for another seed', () => {
    const a = simulate(small);
    const b = simulate(small);
    expect(digest(a)).toBe(digest(b));
    expect(a.records.length).toBeGreaterThan(1000);
    const c = simulate({ ...small, seed: 8 });
    expect(digest(c)).not.toBe(digest(a));
  });

  it('streams the same records it collects, in stream order', () => {
    const collected = simulate(small).records;
    const streamed = [...simulateRecords(small)];
    expect(streamed).toEqual(collected);
    for (let i = 1; i < collected.length; i += 1) expect(collected[i]!.timestamp).toBeGreaterThanOrEqual(collected[i - 1]!.timestamp);
  });

  describe('records', () => {
    // A higher anomaly rate than the default, so 60 days of 40 producers have every injector's kind
    // (split-shipments injects only until 15 days before the end).
    const run = simulate({ seed: 42, producers: 40, days: 60, anomalyRate: 0.08 });
    const values = (topic: string) => run.records.filter((r) => r.topic === topic).map((r) => r.value);

    const isReference = (line: RecordingLine) => ['licences', 'watchlist', 'quotas'].includes(KIND_OF.get(line.topic)!);

    it('all validate against their topic schema and are keyed as DESIGN.md says', () => {
      expect(new Set(run.records.map((r) => r.topic))).toEqual(
        new Set([TOPICS.licences, TOPICS.watchlist, TOPICS.quotas, TOPICS.production, TOPICS.shipments, TOPICS.receipts, TOPICS.inventory]),
      );
      for (const line of run.records) {
        const kind = KIND_OF.get(line.topic)!;
        const schema = kind === 'licences' ? licenceSchema : kind === 'watchlist' ? watchlistEntry : kind === 'quotas' ? productionQuota : REPORT_SCHEMAS[kind as ReportKind];
        const parsed = schema.safeParse(line.value);
        if (!parsed.success) throw new Error(`${line.topic} ${JSON.stringify(line.value)}: ${parsed.error.message}`);
        const v = line.value as { producerId?: string; licenceId?: string; entryId?: string; quotaId?: string; reportedAt?: number; listedAt?: number; issuedAt?: number };
        expect(line.key).toBe(kind === 'licences' ? v.licenceId : kind === 'watchlist' ? v.entryId : kind === 'quotas' ? v.quotaId : v.producerId);
        if (kind === 'watchlist') expect(line.timestamp).toBe(v.listedAt);
        else if (kind === 'quotas') expect(line.timestamp).toBe(v.issuedAt);
        else if (kind !== 'licences') expect(line.timestamp).toBe(v.reportedAt);
      }
      const reportIds = run.records.filter((r) => !isReference(r)).map((r) => (r.value as { reportId: string }).reportId);
      expect(new Set(reportIds).size).toBe(reportIds.length);
    });

    it('reports arrive late, out of order, but inside the 72 h grace period', () => {
      let outOfOrder = 0;
      let last = 0;
      for (const line of run.records) {
        if (isReference(line)) continue;
        const v = line.value as { occurredAt: number; reportedAt: number };
        expect(v.reportedAt - v.occurredAt).toBeGreaterThanOrEqual(0);
        expect(v.reportedAt - v.occurredAt).toBeLessThan(72 * HOUR);
        if (v.occurredAt < last) outOfOrder += 1;
        last = Math.max(last, v.occurredAt);
      }
      expect(outOfOrder).toBeGreaterThan(100);
    });

    it('every clean domestic transfer has its receipt: same shipment, same quantity, 0-2 days later', () => {
      const shipments = values(TOPICS.shipments) as ShipmentReport[];
      // custody-gap anomalies break exactly this on purpose (sim-custody-gap.test.ts checks them).
      const injected = new Set(run.labels.filter((l) => l.ruleId === 'custody-gap').flatMap((l) => l.subjectEventIds));
      const receipts = new Map((values(TOPICS.receipts) as { reportId: string; shipmentId: string; quantityKg: number; occurredAt: number; producerId: string }[]).filter((r) => !injected.has(r.reportId)).map((r) => [r.shipmentId, r]));
      const domestic = shipments.filter((s) => s.direction === 'DOMESTIC' && !injected.has(s.reportId));
      expect(domestic.length).toBeGreaterThan(50);
      for (const s of domestic) {
        const r = receipts.get(s.shipmentId);
        expect(r, s.shipmentId).toBeDefined();
        expect(r!.producerId).toBe(s.clientId);
        expect(r!.quantityKg).toBe(s.quantityKg);
        expect(r!.occurredAt - s.occurredAt).toBeGreaterThanOrEqual(0);
        expect(r!.occurredAt - s.occurredAt).toBeLessThan(3 * 24 * HOUR);
      }
      expect(receipts.size).toBe(domestic.length);
    });

    it("clean exports carry the catalogue HS code, a value near the reference price and the client's country", () => {
      const catalogue = loadCatalogue();
      // Injected anomalies lie on the paperwork on purpose; everything else must not.
      const injected = new Set(run.labels.flatMap((l) => l.subjectEventIds));
      const exports = (values(TOPICS.shipments) as ShipmentReport[]).filter((s) => s.direction === 'EXPORT' && !injected.has(s.reportId));
      expect(exports.length).toBeGreaterThan(50);
      for (const s of exports) {
        const entry = catalogue.get(s.material)!;
        expect(entry.hsCodes).toContain(s.hsCode);
        const perKg = s.declaredValueUsd / s.quantityKg;
        expect(perKg).toBeGreaterThanOrEqual(entry.referenceUsdPerKg * 0.85 - 0.01);
        expect(perKg).toBeLessThanOrEqual(entry.referenceUsdPerKg * 1.15 + 0.01);
        expect(s.destinationCountry).toBe(s.clientCountry);
        expect(s.clientCountry).not.toBe('CN');
      }
    });

    it('opens every producer with stock declarations on day 0', () => {
      const day0 = Date.parse('2025-06-03T00:00:00Z');
      const declared = new Set((values(TOPICS.inventory) as { producerId: string; occurredAt: number }[]).filter((v) => v.occurredAt < day0).map((v) => v.producerId));
      expect(declared.size).toBe(40);
    });

    it('labels point at reports in the recording and cover every rule with an injector', () => {
      const ids = new Set(run.records.map((r) => (r.value as { reportId?: string }).reportId));
      for (const label of run.labels) for (const id of label.subjectEventIds) expect(ids.has(id), id).toBe(true);
      // An injector whose finding needs more days at the end than a 30-day run has (reporting-gap) injects nothing here.
      const fitting = INJECTORS.filter((i) => run.stats.days - 1 - i.tailDays >= 1);
      expect(fitting.length).toBeGreaterThanOrEqual(INJECTORS.length - 1);
      expect(Object.keys(run.stats.labelsByRule).sort()).toEqual([...new Set(fitting.map((i) => i.ruleId))].sort());
      expect(new Set(run.labels.map((l) => l.anomalyId)).size).toBe(run.labels.length);
    });
  });

  describe('production quotas', () => {
    const clean = simulate({ seed: 3, producers: 60, days: 45, anomalies: false });
    const quotasOf = (run: SimResult) => run.records.filter((r) => r.topic === TOPICS.quotas).map((r) => r.value as ProductionQuota);

    it('gives every mine and separation plant a quota for its materials, issued before its year', () => {
      const producers = new Set(clean.records.filter((r) => r.topic === TOPICS.production && ['MINING', 'SEPARATION'].includes((r.value as { stage: string }).stage)).map((r) => r.key));
      const quotas = quotasOf(clean);
      expect(new Set(quotas.map((q) => q.producerId))).toEqual(producers);
      for (const q of quotas) expect(q.issuedAt).toBeLessThan(Date.UTC(q.year, 0, 1));
      // Before any report: the year's first production is judged against them.
      const firstReport = clean.records.findIndex((r) => r.topic === TOPICS.production);
      expect(clean.records.findIndex((r) => r.topic === TOPICS.quotas)).toBeLessThan(firstReport);
    });

    it.each([
      ['inside one year', '2025-06-02', 30, [2025]],
      ['across New Year', '2025-12-20', 20, [2025, 2026]],
      ['ending on 31 December', '2025-12-02', 30, [2025]],
    ])('issues quotas for each year the run touches: %s', (_, start, days, years) => {
      expect(yearsOf(Date.parse(start) / 86_400_000, days)).toEqual(years);
    });

    it('keeps clean production well under quota', () => {
      expect(quotaFindings(clean.records)).toEqual([]);
      // And with room to spare: no producer passes a third of its yearly quota in 45 days.
      const made = new Map<string, number>();
      for (const r of clean.records.filter((x) => x.topic === TOPICS.production)) {
        const v = r.value as { producerId: string; quantityKg: number };
        made.set(v.producerId, (made.get(v.producerId) ?? 0) + v.quantityKg);
      }
      for (const q of quotasOf(clean)) expect(made.get(q.producerId) ?? 0).toBeLessThan(q.quotaKg / 3);
    });

    it('labels as the overrun the very report the rule finds crossing the re-issued quota', () => {
      const run = simulate({ seed: 5, producers: 80, days: 60, anomalyRate: 0.04 });
      const labelled = run.labels.filter((l) => l.ruleId === 'quota-overrun');
      expect(labelled.length).toBeGreaterThanOrEqual(3);
      expect(quotaFindings(run.records).map((d) => d.subjectEventIds).sort()).toEqual(labelled.map((l) => l.subjectEventIds).sort());
    });
  });

  it('clean traffic raises no alert at all', async () => {
    // 45 days: month-end declarations, licences expiring and suspended mid-run, contract quotas running out.
    const run = simulate({ seed: 3, producers: 60, days: 45, anomalies: false });
    expect(run.labels).toEqual([]);
    const licenceRecords = run.records.filter((r) => r.topic === TOPICS.licences);
    const changes = licenceRecords.filter((r) => (r.value as { status: string }).status !== 'ACTIVE');
    expect(changes.length).toBeGreaterThan(0);
    // A suspension or revocation is a new version from when it took effect, not a rewrite of the licence.
    for (const change of changes) expect((change.value as { effectiveAt?: number }).effectiveAt).toBe(change.timestamp);
    const alerts = await detect(run.records);
    expect(alerts.map((a) => a.summary)).toEqual([]);
  }, 30_000);

  it('the detector finds every injected anomaly under its label, and nothing else', async () => {
    const run = simulate({ seed: 11, producers: 40, days: 30 });
    expect(run.labels.length).toBeGreaterThanOrEqual(8);
    const alerts = await detect(run.records);
    const missed = run.labels.filter((l) => !alerts.some((a) => detects(a, l)));
    expect(missed).toEqual([]);
    const unlabelled = alerts.filter((a) => !run.labels.some((l) => detects(a, l)));
    expect(unlabelled.map((a) => a.summary)).toEqual([]);
  }, 30_000);

  it('refuses options it cannot honour', () => {
    expect(() => simulate({ seed: 1.5, producers: 10, days: 5 })).toThrow(/seed/);
    expect(() => simulate({ seed: 1, producers: 2, days: 5 })).toThrow(/producers/);
    expect(() => simulate({ seed: 1, producers: 10, days: 0 })).toThrow(/days/);
    expect(() => simulate({ seed: 1, producers: 10, days: 5, start: 'yesterday' })).toThrow(/start/);
  });

  it('starts on the day asked for and names topics with the given prefix', () => {
    const run = simulate({ seed: 1, producers: 10, days: 3, start: '2025-10-06', topicPrefix: 'qa' });
    expect(run.stats.start).toBe('2025-10-06T00:00:00.000Z');
    expect(run.records.every((r) => r.topic.startsWith('qa.'))).toBe(true);
  });

  describe('writing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ree-sim-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('streams a run to JSON Lines identical to the collected one', async () => {
      const options = { seed: 5, producers: 20, days: 10 };
      const expected = simulate(options);
      const recordingPath = join(dir, 'rec.jsonl');
      const labelsPath = join(dir, 'labels.jsonl');
      const outcome = await writeSimulation(options, { recordingPath, labelsPath });
      expect(outcome.stats).toEqual(expected.stats);
      const lines = readFileSync(recordingPath, 'utf8').trimEnd().split('\n');
      expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(expected.records)));
      const labels = readFileSync(labelsPath, 'utf8').trimEnd().split('\n').filter(Boolean);
      expect(labels.map((l) => JSON.parse(l))).toEqual(expected.labels);
    });

    it('writes an empty file for no labels', async () => {
      const path = join(dir, 'none.jsonl');
      expect(await writeLabels(path, [])).toBe(0);
      expect(readFileSync(path, 'utf8')).toBe('');
    });
  });
});

describe('Rng', () => {
  it('is reproducible per seed and stream, and streams differ', () => {
    const draw = (seed: number, stream: string) => {
      const r = new Rng(seed, stream);
      return Array.from({ length: 5 }, () => r.nextUint32());
    };
    expect(draw(1, 'a')).toEqual(draw(1, 'a'));
    expect(draw(1, 'a')).not.toEqual(draw(1, 'b'));
    expect(draw(1, 'a')).not.toEqual(draw(2, 'a'));
  });

  it('keeps draws in range with sensible moments', () => {
    const r = new Rng(99);
    const n = 20_000;
    let sum = 0;
    let sumSq = 0;
    let poissonSum = 0;
    const hits = [0, 0, 0];
    const ints = new Set<number>();
    let lo = 1;
    let hi = 0;
    for (let i = 0; i < n; i += 1) {
      ints.add(r.int(3, 5));
      const u = r.next();
      lo = Math.min(lo, u);
      hi = Math.max(hi, u);
      const z = r.normal();
      sum += z;
      sumSq += z * z;
      poissonSum += r.poisson(2.5);
      hits[r.weightedIndex([1, 0, 3])]! += 1;
    }
    expect([...ints].sort()).toEqual([3, 4, 5]);
    expect(lo).toBeGreaterThanOrEqual(0);
    expect(hi).toBeLessThan(1);
    expect(Math.abs(sum / n)).toBeLessThan(0.05);
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.05);
    expect(Math.abs(poissonSum / n - 2.5)).toBeLessThan(0.1);
    expect(hits[1]).toBe(0);
    expect(hits[2]! / hits[0]!).toBeGreaterThan(2.7);
    expect(hits[2]! / hits[0]!).toBeLessThan(3.3);
    expect(r.weightedIndex([0, 0])).toBe(-1);
  });
});
