/**
 * Operators roll out a rules change without a restart: the live detector picks up the edited file,
 * the next reports are judged by the new rules, and a broken file is refused while the running
 * rules stay in force.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admin, Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { topicNames } from '../../src/config/topics.ts';
import type { Alert } from '../../src/domain/events.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { D0, at, licence, shipment } from '../helpers/builders.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitForMessages, waitUntil } from '../helpers/stack-env.ts';

describe('rules hot reload in the live detector', () => {
  const prefix = uniqueName('ree-reload');
  const topics = topicNames(prefix);
  const dir = mkdtempSync(join(tmpdir(), 'ree-reload-'));
  const rulesPath = join(dir, 'rules.yaml');
  const kafka = testKafka('ree-reload');
  const producerId = 'P-RELOAD';
  let admin: Admin;
  let producer: Producer;
  let detector: RunningDetector;
  let quotaSeq = 0;

  const send = async (kind: 'shipments' | 'licences', key: string, value: object) =>
    producer.send({ topic: topics[kind], messages: [{ key, value: JSON.stringify(value) }] });

  const alerts = async (count: number): Promise<Alert[]> =>
    (await waitForMessages(kafka, topics.alerts, count, { timeoutMs: 45_000 })).map((m) => JSON.parse(m.value!.toString()) as Alert);

  /**
   * A report that always alerts (an overrun of a fresh one-kilo licence), sent after the report under
   * test on the same partition: once its alert is out, the report before it has been judged.
   */
  async function marker(): Promise<string> {
    quotaSeq += 1;
    const lic = licence({ licenceId: `LIC-RELOAD-${quotaSeq}`, exporterId: producerId, quotaKg: 1 });
    await send('licences', lic.licenceId, lic);
    await waitUntil(async () => {
      const [committed] = await admin.fetchOffsets({ groupId: `${prefix}-g.licences`, topics: [topics.licences] });
      const ends = await admin.fetchTopicOffsets(topics.licences);
      return ends.every((e) => Number(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? -1) >= Number(e.high));
    }, { timeoutMs: 30_000, what: 'licence loaded' });
    const s = shipment({ producerId, licenceId: lic.licenceId, quantityKg: 5, occurredAt: at(D0, 10) });
    await send('shipments', producerId, s);
    return s.reportId;
  }

  beforeAll(async () => {
    writeFileSync(rulesPath, 'rules:\n  unlicensed-client:\n    enabled: true\n');
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    const settings = loadSettings(
      { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL },
      { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': '0', 'alert-format': 'json', partitions: '1', rules: rulesPath, 'log-level': 'fatal' },
    );
    detector = await startDetector(settings, createLogger('fatal'));
  });

  afterAll(async () => {
    await detector?.stop();
    await producer?.disconnect();
    await deleteTopics(admin, Object.values(topics));
    await admin?.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('judges the next reports by the edited file, and keeps the running rules when the file is broken', async () => {
    const e1 = shipment({ producerId, licenceId: null, occurredAt: at(D0, 8) });
    await send('shipments', producerId, e1);
    expect((await alerts(1)).map((a) => [a.ruleId, a.subjectEventIds[0]])).toEqual([['unlicensed-client', e1.reportId]]);

    const before = detector.rules();
    writeFileSync(rulesPath, 'rules:\n  unlicensed-client:\n    enabled: false\n');
    await waitUntil(() => detector.rules() !== before, { timeoutMs: 10_000, what: 'rules reloaded' });
    expect(detector.rules().get('unlicensed-client')!.enabled(producerId)).toBe(false);

    const e2 = shipment({ producerId, licenceId: null, occurredAt: at(D0, 9) });
    await send('shipments', producerId, e2);
    const m1 = await marker();
    const afterDisable = await alerts(2);
    expect(afterDisable.map((a) => a.subjectEventIds[0])).toEqual([e1.reportId, m1]);

    const running = detector.rules();
    writeFileSync(rulesPath, 'rules:\n  unlicensed-client:\n    enabeld: true\n');
    // Give the watcher time to see (and refuse) the broken file.
    await new Promise((r) => setTimeout(r, 1_500));
    expect(detector.rules()).toBe(running);

    const e3 = shipment({ producerId, licenceId: null, occurredAt: at(D0, 11) });
    await send('shipments', producerId, e3);
    const m2 = await marker();
    const all = await alerts(3);
    expect(all.map((a) => a.subjectEventIds[0])).toEqual([e1.reportId, m1, m2]);
  });

  it('follows the file when it is replaced by a rename (as editors and ConfigMaps save), again, and then edited in place', async () => {
    const rulesWith = (tolerancePct: number) => `rules:\n  licence-quota-exceeded:\n    params: { tolerancePct: ${tolerancePct} }\n`;
    const tolerance = () => (detector.rules().get<{ tolerancePct: number }>('licence-quota-exceeded')!.defaults).tolerancePct;
    let tmpSeq = 0;
    const replaceByRename = (text: string) => {
      tmpSeq += 1;
      const tmp = join(dir, `.rules.yaml.${tmpSeq}.tmp`);
      writeFileSync(tmp, text);
      renameSync(tmp, rulesPath);
    };
    const editInPlace = (text: string) => writeFileSync(rulesPath, text);
    const saves: [number, (text: string) => void][] = [
      [1, replaceByRename],
      [2, replaceByRename],
      [3, editInPlace],
    ];
    const reloaded = [];
    for (const [tolerancePct, save] of saves) {
      const before = detector.rules();
      save(rulesWith(tolerancePct));
      await waitUntil(() => tolerance() === tolerancePct, { timeoutMs: 10_000, what: `rules with tolerancePct ${tolerancePct}` });
      expect(detector.rules()).not.toBe(before);
      reloaded.push(tolerance());
    }
    expect(reloaded).toEqual([1, 2, 3]);
  });
});
