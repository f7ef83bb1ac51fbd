/**
 * Live equals replay under any arrival order (DESIGN.md, "Semantics"): a whole simulation loaded
 * into Kafka as fast as it goes before the detector starts, whatever the record times and whatever
 * order the topics were written in, raises exactly the alerts an embedded replay of the same
 * simulation raises, and so does a replay of the topics recorded. And a licence revoked after an
 * export gives the same alerts whether the revocation reaches the detector before the export or
 * after it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector } from '../../src/cli/run.ts';
import { recordTopics } from '../../src/cli/record.ts';
import { simulateCommand } from '../../src/cli/simulate.ts';
import { createEncoder } from '../../src/codec/encode.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs, type TopicKind } from '../../src/config/topics.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import type { Alert } from '../../src/domain/events.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { readRecording, topicKindOf } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { writeLinesToKafka, type WritableLine } from '../../src/producers/recording-writer.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { D0, at, licence, shipment } from '../helpers/builders.ts';
import { caughtUp } from '../helpers/consumed.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

const SIM = { seed: 7, producers: 30, days: 30 };
const kafka = testKafka('ree-arrival-order');
const admin = kafka.admin();
const dir = mkdtempSync(join(tmpdir(), 'ree-arrival-'));
const prefixes: string[] = [];

function settingsFor(prefix: string) {
  return loadSettings(
    { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL },
    { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', 'alert-format': 'json', 'log-level': 'warn' },
  );
}

const asLines = (lines: readonly { topic: string; key: string; value: unknown; timestamp?: number }[]): WritableLine[] => lines.map((l) => ({ ...l }));

/** Starts the detector over what the topics hold, waits until it has read all of it, returns the alerts it raised. */
async function runOverTopics(prefix: string, whileRunning?: (producer: Producer) => Promise<void>): Promise<Alert[]> {
  const settings = settingsFor(prefix);
  const topics = topicNames(prefix);
  const detector = await startDetector(settings, createLogger('warn'));
  try {
    if (whileRunning) {
      const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
      await producer.connect();
      try {
        await whileRunning(producer);
      } finally {
        await producer.disconnect();
      }
    }
    await waitUntil(() => caughtUp(admin, `${settings.groupId}.licences`, [topics.licences]), { timeoutMs: 60_000, what: 'licences consumed' });
    await waitUntil(() => caughtUp(admin, settings.groupId, REPORT_TOPIC_KINDS.map((k) => topics[k])), { timeoutMs: 300_000, intervalMs: 200, what: 'reports consumed' });
  } finally {
    await detector.stop();
  }
  const out = join(dir, `${prefix}-alerts.jsonl`);
  await recordTopics({ brokers: settings.kafkaBrokers, registryUrl: SCHEMA_REGISTRY_URL, topics: [topics.alerts], out, idleMs: 3_000 });
  return readFileSync(out, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => (JSON.parse(l) as { value: Alert }).value);
}

async function replayed(lines: Parameters<typeof replayLines>[0]): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await replayLines(lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: loadCatalogue(), onAlerts: (a) => void alerts.push(...a) });
  return alerts;
}

/**
 * Each alert id at its final revision: a growing finding goes out again under its id, at most once
 * per batch, so how many revisions are published depends on batching; where they end must not.
 * Throws if one revision of an alert was published twice.
 */
const idsOf = (alerts: readonly Alert[]): string[] => {
  const versions = alerts.map((a) => `${a.alertId}#${a.revision ?? 1}`);
  const twice = versions.filter((v, i) => versions.indexOf(v) !== i);
  if (twice.length > 0) throw new Error(`published twice: ${twice.join(', ')}`);
  const final = new Map<string, number>();
  for (const a of alerts) final.set(a.alertId, Math.max(final.get(a.alertId) ?? 0, a.revision ?? 1));
  return [...final].map(([id, revision]) => `${id}#${revision}`).sort();
};

function newPrefix(name: string): string {
  const prefix = uniqueName(name);
  prefixes.push(prefix);
  return prefix;
}

beforeAll(async () => {
  await admin.connect();
});

afterAll(async () => {
  await deleteTopics(admin, prefixes.flatMap((p) => Object.values(topicNames(p))));
  await admin.disconnect();
  rmSync(dir, { recursive: true, force: true });
});

describe('a simulation loaded before the detector starts', () => {
  const sim = simulate(SIM);
  const parsed = sim.records.map((line, i) => ({ ok: true as const, line, lineNo: i + 1 }));
  let expected: Alert[] = [];

  beforeAll(async () => {
    expected = await replayed(parsed);
  });

  it('replays to a fair number of alerts of every rule the simulation injects (what the live runs are held to)', () => {
    expect(new Set(expected.map((a) => a.ruleId))).toEqual(new Set(sim.labels.map((l) => l.ruleId)));
    expect(expected.length).toBeGreaterThan(10);
    expect(idsOf(expected).length).toBeGreaterThan(10);
  });

  it('raises the alerts replay raises when written by `simulate --to-kafka` as fast as it goes', async () => {
    const prefix = newPrefix('ree-order-sim');
    const flags = ['--seed', String(SIM.seed), '--producers', String(SIM.producers), '--days', String(SIM.days), '--to-kafka'];
    expect(await simulateCommand([...flags, '--brokers', KAFKA_BROKERS, '--registry', SCHEMA_REGISTRY_URL, '--prefix', prefix])).toBe(0);
    const live = await runOverTopics(prefix);
    expect(idsOf(live)).toEqual(idsOf(expected));
  }, 600_000);

  it('raises the same alerts when the topics were written one after another, shipments before production, reference data last, all stamped now', async () => {
    const prefix = newPrefix('ree-order-topics');
    const topics = topicNames(prefix);
    // Created as run would create them; no record carries a time of its own, as with kcat.
    await ensureTopics(admin, topicSpecs(prefix));
    const order: TopicKind[] = ['shipments', 'receipts', 'inventory', 'production', 'watchlist', 'quotas', 'licences'];
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const encoder = createEncoder({ registry: new SchemaRegistry({ host: SCHEMA_REGISTRY_URL }), topicNames: topics });
      for (const kind of order) {
        const lines = sim.records.filter((l) => topicKindOf(l.topic) === kind).map(({ timestamp: _now, ...line }) => line);
        await writeLinesToKafka(asLines(lines), { producer, topics, format: 'avro', encoder });
      }
    } finally {
      await producer.disconnect();
    }
    const live = await runOverTopics(prefix);
    expect(idsOf(live)).toEqual(idsOf(expected));

    // And `record` puts them back in the order the reports were made, so the recording replays the same.
    const recording = join(dir, `${prefix}-rec.jsonl`);
    const stats = await recordTopics({ brokers: [KAFKA_BROKERS], registryUrl: SCHEMA_REGISTRY_URL, topics: order.map((k) => topics[k]), out: recording, idleMs: 3_000 });
    expect(stats.records).toBe(sim.records.length);
    expect(idsOf(await replayed(readRecording(recording).lines))).toEqual(idsOf(expected));
  }, 600_000);
});

describe('a simulation written while the detector runs on empty topics', () => {
  const sim = simulate(SIM);
  const parsed = sim.records.map((line, i) => ({ ok: true as const, line, lineNo: i + 1 }));

  // The report topics were empty at the join, so each was known to have nothing waiting. A fetch
  // can then bring one topic's part of a burst before its siblings' (the broker appends a produce
  // request's partitions one by one), and without looking again the detector ran that topic weeks
  // ahead of the production that covers it: 65 false volume-mismatch alerts in an operator's try.
  it('raises the alerts replay raises, as a backlog does', async () => {
    const expected = await replayed(parsed);
    const prefix = newPrefix('ree-order-burst');
    const live = await runOverTopics(prefix, async (producer) => {
      await writeLinesToKafka(asLines(sim.records), { producer, topics: topicNames(prefix), format: 'json' });
    });
    expect(idsOf(live)).toEqual(idsOf(expected));
  }, 600_000);
});

describe('a licence revoked after an export', () => {
  const issued = licence({ licenceId: 'LIC-ORDER', exporterId: 'P-ORDER', clientId: 'C1' });
  const revoked = { ...issued, status: 'REVOKED' as const, effectiveAt: at(D0 + 1, 0) };
  const whileActive = shipment({ producerId: 'P-ORDER', licenceId: issued.licenceId, clientId: 'C1', occurredAt: at(D0, 12) });
  const afterRevocation = shipment({ producerId: 'P-ORDER', licenceId: issued.licenceId, clientId: 'C1', occurredAt: at(D0 + 2, 12) });
  const line = (topic: string, key: string, value: object) => ({ topic, key, value });

  async function write(producer: Producer, prefix: string, lines: WritableLine[]) {
    await writeLinesToKafka(lines, { producer, topics: topicNames(prefix), format: 'json' });
  }

  it('gives the same alert ids whether the revocation arrives after the export or before it', async () => {
    // Revocation after: the export is judged while the licence is still active in the register.
    const afterPrefix = newPrefix('ree-order-rev-after');
    const afterTopics = topicNames(afterPrefix);
    const groupId = settingsFor(afterPrefix).groupId;
    const revokedLate = await runOverTopics(afterPrefix, async (producer) => {
      await write(producer, afterPrefix, [line(afterTopics.licences, issued.licenceId, issued)]);
      await waitUntil(() => caughtUp(admin, `${groupId}.licences`, [afterTopics.licences]), { timeoutMs: 30_000, what: 'licence consumed' });
      await write(producer, afterPrefix, [line(afterTopics.shipments, whileActive.producerId, whileActive)]);
      await waitUntil(() => caughtUp(admin, groupId, [afterTopics.shipments]), { timeoutMs: 30_000, what: 'export consumed' });
      await write(producer, afterPrefix, [line(afterTopics.licences, issued.licenceId, revoked)]);
      await waitUntil(() => caughtUp(admin, `${groupId}.licences`, [afterTopics.licences]), { timeoutMs: 30_000, what: 'revocation consumed' });
      await write(producer, afterPrefix, [line(afterTopics.shipments, afterRevocation.producerId, afterRevocation)]);
    });

    // Revocation first: both records are in before the detector starts, then the exports.
    const beforePrefix = newPrefix('ree-order-rev-before');
    const beforeTopics = topicNames(beforePrefix);
    await ensureTopics(admin, topicSpecs(beforePrefix));
    const producer = kafka.producer();
    await producer.connect();
    try {
      await write(producer, beforePrefix, [line(beforeTopics.licences, issued.licenceId, revoked), line(beforeTopics.licences, issued.licenceId, issued)]);
      await write(producer, beforePrefix, [whileActive, afterRevocation].map((s) => line(beforeTopics.shipments, s.producerId, s)));
    } finally {
      await producer.disconnect();
    }
    const revokedEarly = await runOverTopics(beforePrefix);

    const findings = (alerts: Alert[]) => alerts.map((a) => [a.ruleId, a.subjectEventIds, a.evidence.reasons]);
    expect(findings(revokedLate)).toEqual([['unlicensed-client', [afterRevocation.reportId], 'revoked']]);
    expect(idsOf(revokedEarly)).toEqual(idsOf(revokedLate));
  }, 300_000);
});
