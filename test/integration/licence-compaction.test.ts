/**
 * Live = replay on a compacted licences topic. The simulator stamps records with their event
 * times, months apart, so the broker rolls the licences topic's segments by record time and its
 * cleaner soon keeps only each licence's latest record: for seed 41, L-000007's revocation without
 * its issuance. The live detector reads the topic whole before any report and judges P-0004's
 * exports before the revocation against the licence as issued (licence-versions.ts); a replay of
 * the recorded topics must judge them the same, not as under an unknown licence.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordTopics } from '../../src/cli/record.ts';
import { startDetector } from '../../src/cli/run.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs } from '../../src/config/topics.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert, Licence } from '../../src/domain/events.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { readRecording } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { writeLinesToKafka } from '../../src/producers/recording-writer.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { caughtUp } from '../helpers/consumed.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, brokerList, deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

const PARTITIONS = 3;
const kafka = testKafka('ree-licence-compaction');
const dir = mkdtempSync(join(tmpdir(), 'ree-licence-compaction-'));
const prefix = uniqueName('ree-lic-compact');
const topics = topicNames(prefix);

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await deleteTopics(admin, Object.values(topics));
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

/** The topics recorded into one file, as `ree-sentinel record` does; returns its path. */
async function record(which: string[], name: string): Promise<string> {
  const out = join(dir, `${name}.jsonl`);
  await recordTopics({ brokers: brokerList(KAFKA_BROKERS), registryUrl: SCHEMA_REGISTRY_URL, topics: which, out, idleMs: 3_000 });
  return out;
}

/** Licences whose first record the topic still holds is a later version: their issuance was compacted away. */
async function licencesWithoutIssuance(): Promise<string[]> {
  const lines = readFileSync(await record([topics.licences], `licences-${Date.now()}`), 'utf8').trim().split('\n');
  const first = new Map<string, Licence>();
  for (const l of lines.map((raw) => JSON.parse(raw) as { key: string; value: Licence | null })) if (l.value && !first.has(l.key)) first.set(l.key, l.value);
  return [...first].filter(([, v]) => (v.effectiveAt ?? v.issuedAt) > v.issuedAt).map(([id]) => id);
}

/** Every alert the live detector published. */
async function publishedAlerts(): Promise<Alert[]> {
  const lines = readFileSync(await record([topics.alerts], 'alerts'), 'utf8').trim().split('\n');
  return lines.filter(Boolean).map((raw) => (JSON.parse(raw) as { value: Alert }).value);
}

describe('a compacted licences topic', () => {
  it('gives the same alerts live as a replay of the recorded topics', async () => {
    const admin = kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, topicSpecs(prefix, { partitions: PARTITIONS }));
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      await writeLinesToKafka(simulate({ seed: 41, producers: 16, days: 30, anomalyRate: 0.08 }).records, { producer, topics, format: 'json' });
      await producer.disconnect();

      const settings = loadSettings(
        { KAFKA_BROKERS, REDIS_URL },
        { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', registry: 'none', 'alert-format': 'json', partitions: String(PARTITIONS), 'log-level': 'error' },
      );
      const detector = await startDetector(settings, createLogger('error'));
      try {
        const reportTopics = REPORT_TOPIC_KINDS.map((k) => topics[k]);
        await waitUntil(() => caughtUp(admin, `${prefix}-g`, reportTopics), { timeoutMs: 120_000, intervalMs: 500, what: 'every report committed' });
      } finally {
        await detector.stop();
      }
    } finally {
      await admin.disconnect();
    }
    // The case under test: the broker's cleaner (every 15 s) has dropped L-000007's issuance. Its one
    // thread also cleans every compacted topic the suite's other files create meanwhile: in a CI run
    // of the whole suite it reached this topic 61 s into the wait (16 s when the file runs alone).
    await waitUntil(async () => (await licencesWithoutIssuance()).includes('L-000007'), { timeoutMs: 180_000, intervalMs: 1_000, what: "L-000007's issuance compacted away" });

    const recording = await record([...REPORT_TOPIC_KINDS.map((k) => topics[k]), topics.licences, topics.watchlist, topics.quotas], 'recording');
    const replayed: Alert[] = [];
    await replayLines(readRecording(recording).lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: loadCatalogue(), onAlerts: (a) => void replayed.push(...a) });
    const live = await publishedAlerts();

    const underL7 = (alerts: Alert[]) => alerts.filter((a) => a.ruleId === 'unlicensed-client' && a.licenceId === 'L-000007').map((a) => `${a.subjectEventIds.join(',')} ${a.evidence['reasons']}`).sort();
    // Only the exports after the revocation (one of them to another client as well).
    expect(underL7(replayed)).toEqual(['SHP-15-00000361 revoked', 'SHP-15-00000534 other-client,revoked']);
    expect(underL7(live)).toEqual(underL7(replayed));
    const ids = (alerts: Alert[]) => [...new Set(alerts.map((a) => a.alertId))].sort();
    expect(ids(live)).toEqual(ids(replayed));
  }, 360_000);
});
