/**
 * The golden test: seven simulated weeks fed day by day into the live detector on the real stack, and
 * the same topics recorded and replayed embedded. Live and replay must raise exactly the same
 * alerts (ids, rules, subjects, evidence; all but detectedAt), and they must find the anomalies.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backtest } from '../../src/backtest/score.ts';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { recordTopics } from '../../src/cli/record.ts';
import { createEncoder } from '../../src/codec/encode.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert } from '../../src/domain/events.ts';
import { dayOf } from '../../src/domain/time.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { readRecording, topicKindOf } from '../../src/pipeline/recording.ts';
import { RULES } from '../../src/rules/index.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { writeLinesToKafka } from '../../src/producers/recording-writer.ts';
import { simulate } from '../../src/sim/simulate.ts';
import type { RecordingLine } from '../../src/sim/types.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { caughtUp } from '../helpers/consumed.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

const withoutDetectedAt = ({ detectedAt: _ignored, ...rest }: Alert) => rest;

describe('golden: live detector = record + replay', () => {
  // Anomalies denser than the default, so these seven weeks of 24 producers have every rule's kind, and a watchlist
  // entry listed both before and after the export it matches.
  const sim = simulate({ seed: 11, producers: 24, days: 48, anomalyRate: 0.12 });
  const prefix = uniqueName('ree-golden');
  const topics = topicNames(prefix);
  const settings = loadSettings({ KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL }, { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', 'alert-format': 'json', partitions: '3', 'log-level': 'warn' });
  const kafka = testKafka('ree-golden');
  const admin = kafka.admin();
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  const dir = mkdtempSync(join(tmpdir(), 'ree-golden-'));
  let detector: RunningDetector | undefined;
  let live: Alert[] = [];

  beforeAll(async () => {
    await admin.connect();
    await producer.connect();
    detector = await startDetector(settings, createLogger('warn'));
    const encoder = createEncoder({ registry: new SchemaRegistry({ host: SCHEMA_REGISTRY_URL }), topicNames: topics });
    const reportTopics = REPORT_TOPIC_KINDS.map((k) => topics[k]);
    // Day by day, as reports reach the regulator: licences and watchlist entries of the day first,
    // then its reports, each time waiting until the detector has committed them.
    const byDay = new Map<number, RecordingLine[]>();
    for (const line of sim.records) byDay.set(dayOf(line.timestamp), [...(byDay.get(dayOf(line.timestamp)) ?? []), line]);
    for (const day of [...byDay.keys()].sort((a, b) => a - b)) {
      const lines = byDay.get(day)!;
      const isReference = (l: RecordingLine) => l.topic === topics.licences || l.topic === topics.watchlist;
      const reports = lines.filter((l) => !isReference(l));
      for (const kind of ['licences', 'watchlist'] as const) {
        const reference = lines.filter((l) => l.topic === topics[kind]);
        if (reference.length === 0) continue;
        await writeLinesToKafka(reference, { producer, topics, format: 'avro', encoder });
        await waitUntil(() => caughtUp(admin, `${settings.groupId}.${kind}`, [topics[kind]]), { timeoutMs: 30_000, what: `${kind} consumed` });
      }
      await writeLinesToKafka(reports, { producer, topics, format: 'avro', encoder });
      await waitUntil(() => caughtUp(admin, settings.groupId, reportTopics), { timeoutMs: 60_000, intervalMs: 50, what: `reports of day ${day} consumed` });
    }
    const alertsFile = join(dir, 'alerts.jsonl');
    await recordTopics({ brokers: settings.kafkaBrokers, registryUrl: SCHEMA_REGISTRY_URL, topics: [topics.alerts], out: alertsFile, idleMs: 5_000 });
    live = readFileSync(alertsFile, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { value: Alert }).value);
  }, 600_000);

  afterAll(async () => {
    await detector?.stop();
    await producer.disconnect();
    await deleteTopics(admin, Object.values(topics));
    await admin.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('finds the injected anomalies live', () => {
    const result = backtest(live, sim.labels);
    expect(sim.labels.length).toBeGreaterThan(5);
    // Long enough (48 days) for the watermark rules' injectors, so every rule id fires live.
    expect(new Set(live.map((a) => a.ruleId))).toEqual(new Set(RULES.map((r) => r.id)));
    expect(result.overall.recall).toBe(1);
    expect(result.overall.precision).toBe(1);
  });

  it('raises exactly the same alerts when the recorded topics are replayed', async () => {
    const recording = join(dir, 'rec.jsonl');
    const stats = await recordTopics({
      brokers: settings.kafkaBrokers,
      registryUrl: SCHEMA_REGISTRY_URL,
      topics: [...REPORT_TOPIC_KINDS.map((k) => topics[k]), topics.licences, topics.watchlist, topics.quotas],
      out: recording,
      idleMs: 10_000,
    });
    // Every report is recorded. The compacted reference topics (licences, watchlist, quotas) may
    // already have dropped a version superseded by a later one of the same key (a re-issued quota).
    // (Kinds, not names: the simulation's lines carry the default prefix, the topics this test's.)
    const isReference = (topic: string) => ['licences', 'watchlist', 'quotas'].includes(topicKindOf(topic) ?? '');
    const lastOfKey = new Map(sim.records.map((l, i) => [`${topicKindOf(l.topic)}|${l.key}`, i]));
    const superseded = sim.records.filter((l, i) => isReference(l.topic) && lastOfKey.get(`${topicKindOf(l.topic)}|${l.key}`) !== i).length;
    const recordedReports = readFileSync(recording, 'utf8').split('\n').filter((l) => l && !isReference((JSON.parse(l) as RecordingLine).topic)).length;
    expect(recordedReports).toBe(sim.records.filter((l) => !isReference(l.topic)).length);
    expect(stats.records).toBeGreaterThanOrEqual(sim.records.length - superseded);
    const replayed: Alert[] = [];
    await replayLines(readRecording(recording).lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: loadCatalogue(), onAlerts: (a) => void replayed.push(...a) });
    // A growing finding is published again under its alertId with a higher revision, at most once
    // per batch, so live (small batches) may publish more revisions than a replay; what a
    // subscriber ends up holding, each alert at its latest revision, must be the same.
    const latest = (alerts: Alert[]) => {
      const held = new Map<string, Alert>();
      for (const a of alerts) if ((held.get(a.alertId)?.revision ?? 0) < (a.revision ?? 1)) held.set(a.alertId, a);
      return new Map([...held].map(([id, a]) => [id, withoutDetectedAt(a)]));
    };
    const versions = live.map((a) => `${a.alertId}#${a.revision ?? 1}`);
    expect(versions.length).toBe(new Set(versions).size);
    expect(latest(replayed)).toEqual(latest(live));
  });
});
