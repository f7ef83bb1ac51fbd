/**
 * Several instances started at once against an empty registry (a new topic prefix, so every
 * subject is new): all of them start, join the group and serve; none trips over another's schema
 * registration, and each subject ends up with one schema version.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { createDecoder } from '../../src/codec/decode.ts';
import { valueSubject } from '../../src/codec/schemas.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { shipment } from '../helpers/builders.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitForMessages, waitUntil } from '../helpers/stack-env.ts';

describe('three instances started at once against an empty registry', () => {
  const prefix = uniqueName('ree-trio');
  const topics = topicNames(prefix);
  const kafka = testKafka('ree-trio');
  let admin: Admin;
  let started: PromiseSettledResult<RunningDetector>[] = [];

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(started.map((s) => (s.status === 'fulfilled' ? s.value.stop() : undefined)));
    await deleteTopics(admin, Object.values(topics));
    await admin.disconnect();
  });

  it('all three run, and an alert comes out in Avro', async () => {
    const settings = loadSettings(
      { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL },
      { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', partitions: '3', 'alert-format': 'avro', 'log-level': 'silent' },
    );
    started = await Promise.allSettled([1, 2, 3].map(() => startDetector(settings, createLogger('silent'))));
    expect(started.map((s) => (s.status === 'fulfilled' ? 'started' : String(s.reason)))).toEqual(['started', 'started', 'started']);
    const detectors = started.map((s) => (s as PromiseFulfilledResult<RunningDetector>).value);
    await waitUntil(() => detectors.every((d) => d.ready()), { timeoutMs: 45_000, what: 'all three ready' });

    const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
    for (const kind of [...REPORT_TOPIC_KINDS, 'licences', 'alerts'] as const) {
      const versions = (await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${valueSubject(topics[kind])}/versions`).then((r) => r.json())) as number[];
      expect(versions).toHaveLength(1);
    }

    const unlicensed = shipment({ producerId: 'P-TRIO', licenceId: null });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.shipments, messages: [{ key: unlicensed.producerId, value: JSON.stringify(unlicensed) }] });
    await producer.disconnect();
    const [message] = await waitForMessages(kafka, topics.alerts, 1, { timeoutMs: 45_000 });
    const alert = await createDecoder({ registry }).decodeAlert(message!.value);
    expect([alert.ruleId, alert.subjectEventIds]).toEqual(['unlicensed-client', [unlicensed.reportId]]);
  });
});
