/**
 * The live detector end to end on the real stack: Avro and JSON reports (one produced by kcat, a
 * client nobody here wrote) in, the expected alerts out on the alerts topic; duplicates change
 * nothing; malformed records go to the dead-letter topic while good ones still alert; a restart
 * mid-stream loses nothing and duplicates nothing; a batch of bad records too big for one produce
 * request is dead-lettered whole.
 */
import { execFileSync } from 'node:child_process';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Admin, Kafka, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { createEncoder, type Encoder } from '../../src/codec/encode.ts';
import { loadSettings, type Settings } from '../../src/config/settings.ts';
import { topicNames, type TopicNames } from '../../src/config/topics.ts';
import type { Alert } from '../../src/domain/events.ts';
import { DAY_MS } from '../../src/domain/time.ts';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { D0, at, inventory, licence, production, shipment } from '../helpers/builders.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitForMessages, type ReceivedMessage } from '../helpers/stack-env.ts';

const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
const decoder = createDecoder({ registry });

interface Harness {
  settings: Settings;
  topics: TopicNames;
  kafka: Kafka;
  admin: Admin;
  producer: Producer;
  encoder: Encoder;
  detector?: RunningDetector;
}

async function harness(alertFormat: 'avro' | 'json'): Promise<Harness> {
  const prefix = uniqueName('ree-it');
  const settings = loadSettings(
    { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL },
    { prefix, group: `${prefix}-group`, 'state-prefix': prefix, 'http-port': '0', partitions: '3', 'alert-format': alertFormat, 'log-level': 'warn' },
  );
  const topics = topicNames(prefix);
  const kafka = testKafka('ree-it');
  const admin = kafka.admin();
  await admin.connect();
  const producer = kafka.producer();
  await producer.connect();
  const encoder = createEncoder({ registry, topicNames: topics });
  return { settings, topics, kafka, admin, producer, encoder };
}

async function start(h: Harness): Promise<RunningDetector> {
  h.detector = await startDetector(h.settings, createLogger('warn'));
  return h.detector;
}

async function teardown(h: Harness) {
  await h.detector?.stop();
  await h.producer.disconnect();
  await deleteTopics(h.admin, Object.values(h.topics));
  await h.admin.disconnect();
}

const sendAvro = async (h: Harness, kind: 'production' | 'shipments' | 'inventory' | 'licences', key: string, event: object) =>
  h.producer.send({ topic: h.topics[kind], messages: [{ key, value: await h.encoder.encode(kind, event) }] });

const sendJson = async (h: Harness, kind: 'production' | 'shipments' | 'inventory' | 'licences', key: string, event: object | string) =>
  h.producer.send({ topic: h.topics[kind], messages: [{ key, value: Buffer.from(typeof event === 'string' ? event : JSON.stringify(event)) }] });

function sendWithKcat(topic: string, key: string, event: object) {
  // As the README's recipe: kafkajs's partitioning, so the report joins its producer's partition.
  execFileSync('kcat', ['-P', '-b', KAFKA_BROKERS, '-X', 'partitioner=murmur2_random', '-t', topic, '-K', '|'], { input: `${key}|${JSON.stringify(event)}\n`, timeout: 20_000 });
}

const decodeAlerts = (messages: ReceivedMessage[]): Promise<Alert[]> => Promise.all(messages.map((m) => decoder.decodeAlert(m.value)));

describe('ree-sentinel run on the real stack', () => {
  describe('Avro alerts', () => {
    let h: Harness;
    const producerId = 'P-IT1';
    const lic = licence({ licenceId: 'LIC-IT1', exporterId: producerId, clientId: 'C1', quotaKg: 1000 });
    const opening = inventory({ producerId, onHandKg: 0, occurredAt: at(D0) });
    // Recycled magnets: no stage input is needed, so yield-anomaly has nothing to say about them.
    const made = production({ producerId, stage: 'RECYCLING', quantityKg: 1000, occurredAt: at(D0 + 1) });
    const s1 = shipment({ producerId, licenceId: lic.licenceId, quantityKg: 600, occurredAt: at(D0 + 1, 15) });
    const s2 = shipment({ producerId, licenceId: lic.licenceId, quantityKg: 600, occurredAt: at(D0 + 2) });
    const s3 = shipment({ producerId, licenceId: null, quantityKg: 50, occurredAt: at(D0 + 2, 14) });
    // Moves the producer's clock past D0+2's grace period (72 h) so its deficit check fires.
    const tick = production({ producerId, stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 10, occurredAt: at(D0 + 6) });

    beforeAll(async () => {
      h = await harness('avro');
      await start(h);
      await sendAvro(h, 'licences', lic.licenceId, lic);
      await sendAvro(h, 'inventory', producerId, opening);
      await sendAvro(h, 'production', producerId, made);
      await sendAvro(h, 'shipments', producerId, s1);
      await sendJson(h, 'shipments', producerId, s2);
      sendWithKcat(h.topics.shipments, producerId, s3);
      // The clock tick goes on another topic; only once the shipments are in (their two alerts are
      // out) may it move the producer's clock, or the day's check would be judged without s3.
      await waitForMessages(h.kafka, h.topics.alerts, 2, { timeoutMs: 45_000 });
      await sendAvro(h, 'production', producerId, tick);
    });
    afterAll(async () => teardown(h));

    it('turns Avro, JSON and kcat-produced reports into the expected alerts', async () => {
      const alerts = await decodeAlerts(await waitForMessages(h.kafka, h.topics.alerts, 3, { timeoutMs: 45_000 }));
      const byRule = new Map(alerts.map((a) => [a.ruleId, a]));
      expect([...byRule.keys()].sort()).toEqual(['licence-quota-exceeded', 'unlicensed-client', 'volume-mismatch']);

      const quota = byRule.get('licence-quota-exceeded')!;
      expect(quota.subjectEventIds).toEqual([s2.reportId]);
      expect(quota.licenceId).toBe(lic.licenceId);
      expect(quota.evidence).toMatchObject({ quotaKg: '1000', usedAfterKg: '1200', overKg: '200' });

      const unlicensed = byRule.get('unlicensed-client')!;
      expect(unlicensed.subjectEventIds).toEqual([s3.reportId]);
      expect(unlicensed.evidence.reasons).toBe('no-licence');

      const deficit = byRule.get('volume-mismatch')!;
      expect([...deficit.subjectEventIds].sort()).toEqual([s2.reportId, s3.reportId].sort());
      expect(deficit.evidence).toMatchObject({ check: 'deficit', producedKg: '1000', shippedKg: '1250', bookBalanceKg: '-250', deficitKg: '250' });
      expect(deficit.eventTime).toBe((D0 + 3) * DAY_MS - 1);
      for (const a of alerts) expect(a.producerId).toBe(producerId);
    });

    it('changes nothing when the same reports are delivered again', async () => {
      for (const [kind, e] of [['inventory', opening], ['production', made], ['shipments', s1], ['shipments', s2], ['shipments', s3], ['production', tick]] as const) {
        await sendJson(h, kind, producerId, e);
      }
      // A new finding after the duplicates, on the same partition: once it is out, the duplicates were processed.
      const marker = shipment({ producerId, licenceId: 'LIC-NOPE', quantityKg: 5, occurredAt: at(D0 + 6, 13) });
      await sendJson(h, 'shipments', producerId, marker);
      const alerts = await decodeAlerts(await waitForMessages(h.kafka, h.topics.alerts, 4, { timeoutMs: 45_000 }));
      await new Promise((r) => setTimeout(r, 1500));
      const all = await decodeAlerts(await waitForMessages(h.kafka, h.topics.alerts, alerts.length, { timeoutMs: 10_000 }));
      expect(all).toHaveLength(4);
      expect(new Set(all.map((a) => a.alertId)).size).toBe(4);
      const last = all.find((a) => a.subjectEventIds.includes(marker.reportId));
      expect(last?.evidence.reasons).toBe('unknown-licence');
    });
  });

  describe('bad input and restarts (JSON alerts)', () => {
    let h: Harness;
    const producerId = 'P-IT2';

    beforeAll(async () => {
      h = await harness('json');
      await start(h);
    });
    afterAll(async () => teardown(h));

    it('dead-letters malformed records with their reasons while good records still alert', async () => {
      const good = shipment({ producerId, licenceId: null, quantityKg: 20 });
      await sendJson(h, 'shipments', producerId, 'this is not json');
      await h.producer.send({ topic: h.topics.shipments, messages: [{ key: producerId, value: Buffer.from([0, 0, 0, 0x7f, 0x42, 1, 2]) }] });
      await sendJson(h, 'shipments', producerId, { ...shipment({ producerId }), quantityKg: -5 });
      const { clientId: _dropped, ...missingClient } = shipment({ producerId });
      await sendJson(h, 'shipments', producerId, missingClient);
      await sendJson(h, 'shipments', producerId, { ...shipment({ producerId }), transportMode: 'TELEPORT' });
      await sendJson(h, 'shipments', producerId, good);

      const dead = await waitForMessages(h.kafka, h.topics.deadletter, 5, { timeoutMs: 45_000 });
      const reasons = dead.map((m) => m.headers.error?.toString() ?? '');
      expect(reasons[0]).toMatch(/neither Confluent Avro/);
      expect(reasons[1]).toMatch(/schema id 32578|unknown|not found/i);
      expect(reasons[2]).toMatch(/quantityKg/);
      expect(reasons[3]).toMatch(/clientId/);
      expect(reasons[4]).toMatch(/transportMode/);
      for (const m of dead) {
        expect(m.headers['source-topic']?.toString()).toBe(h.topics.shipments);
        expect(m.headers['source-partition']?.toString()).toMatch(/^\d+$/);
        expect(m.headers['source-offset']?.toString()).toMatch(/^\d+$/);
        expect(m.key?.toString()).toBe(producerId);
      }
      expect(dead[0]!.value?.toString()).toBe('this is not json');

      const [alert] = await waitForMessages(h.kafka, h.topics.alerts, 1, { timeoutMs: 30_000 });
      const parsed = JSON.parse(alert!.value!.toString()) as Alert;
      expect(parsed).toMatchObject({ ruleId: 'unlicensed-client', subjectEventIds: [good.reportId], producerId });
    });

    it('loses nothing and duplicates nothing across a restart mid-stream', async () => {
      const before = (await waitForMessages(h.kafka, h.topics.alerts, 1, { timeoutMs: 10_000 })).length;
      const batch1 = Array.from({ length: 20 }, (_, i) => shipment({ producerId, licenceId: null, quantityKg: 10 + i, occurredAt: at(D0 + 1, 1) + i }));
      const batch2 = Array.from({ length: 20 }, (_, i) => shipment({ producerId, licenceId: null, quantityKg: 40 + i, occurredAt: at(D0 + 2, 1) + i }));
      for (const s of batch1) await sendJson(h, 'shipments', producerId, s);
      // Stop while the first reports may still be in flight, write more while it is down, start again.
      await h.detector!.stop();
      for (const s of batch2) await sendJson(h, 'shipments', producerId, s);
      await start(h);
      const messages = await waitForMessages(h.kafka, h.topics.alerts, before + 40, { timeoutMs: 60_000 });
      await new Promise((r) => setTimeout(r, 2000));
      const all = (await waitForMessages(h.kafka, h.topics.alerts, messages.length, { timeoutMs: 10_000 })).map((m) => JSON.parse(m.value!.toString()) as Alert);
      expect(all).toHaveLength(before + 40);
      const subjects = all.flatMap((a) => a.subjectEventIds);
      for (const s of [...batch1, ...batch2]) expect(subjects.filter((id) => id === s.reportId)).toHaveLength(1);
    });

    it('dead-letters one batch of bad records far over the broker message size and stays up', async () => {
      // ~250 bytes of dead letter per record: one produce request would be 2.5 MB, past the 1 MB default.
      const key = 'P-IT2-JUNK';
      const junk = Array.from({ length: 10_000 }, (_, i) => ({ key, value: Buffer.from(`junk ${i}`) }));
      await h.producer.send({ topic: h.topics.shipments, messages: junk });
      const dead = await waitForMessages(h.kafka, h.topics.deadletter, junk.length, { timeoutMs: 45_000, filter: (m) => m.key?.toString() === key });
      expect(new Set(dead.map((m) => m.headers['source-offset']?.toString())).size).toBe(junk.length);
      expect(h.detector!.ready()).toBe(true);
    });
  });
});
