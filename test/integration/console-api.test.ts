/**
 * The console's API on the real stack: alerts produced to the alerts topic (Avro and JSON) become
 * listable, filterable and pageable; triage is written to the compacted status topic, shared by
 * two consoles and kept across a restart; verdicts export as labels `backtest` reads; the token,
 * bad input and unknown ids get clear 4xx answers.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { ConfigResourceTypes, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLabelsFile } from '../../src/backtest/files.ts';
import { backtest } from '../../src/backtest/score.ts';
import { createEncoder } from '../../src/codec/encode.ts';
import { alertStatusTopicSpec, topicNames } from '../../src/config/topics.ts';
import type { RunningConsole } from '../../src/console/start.ts';
import { alert } from '../helpers/alerts.ts';
import { consoleApi, consoleTestSettings, newToken, startTestConsole, waitForAlerts } from '../helpers/console.ts';
import { SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

describe('ree-sentinel console API on the real stack', () => {
  const prefix = uniqueName('ree-console');
  const settings = consoleTestSettings(prefix);
  const topics = topicNames(prefix);
  const statusTopic = alertStatusTopicSpec(prefix).topic;
  const token = newToken();
  const kafka = testKafka('ree-console-it');
  let admin: Admin;
  let producer: Producer;
  let consoleA: RunningConsole;
  let consoleB: RunningConsole | undefined;
  let api: ReturnType<typeof consoleApi>;

  const avroAlert = alert({ ruleId: 'licence-quota-exceeded', severity: 'CRITICAL', producerId: 'P-A', licenceId: 'LIC-7', subjectEventIds: ['r-quota'] });
  const jsonAlert = alert({ producerId: 'P-B', clientId: 'C-9', evidence: { material: 'DY_OXIDE', clientName: 'Zhang Trading' } });
  const many = Array.from({ length: 12 }, (_, i) => alert({ ruleId: 'volume-mismatch', severity: 'LOW', producerId: 'P-C', clientId: null, detectedAt: 1_000_000 + i }));

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    consoleA = await startTestConsole(settings, token);
    api = consoleApi(consoleA.url, token);
    const encoder = createEncoder({ registry: new SchemaRegistry({ host: SCHEMA_REGISTRY_URL }), topicNames: topics });
    await producer.send({
      topic: topics.alerts,
      messages: [
        { key: avroAlert.producerId, value: await encoder.encode('alerts', avroAlert) },
        { key: jsonAlert.producerId, value: JSON.stringify(jsonAlert) },
        { key: 'P-X', value: '{"not":"an alert"}' },
        ...many.map((a) => ({ key: a.producerId, value: JSON.stringify(a) })),
      ],
    });
    await waitForAlerts(api, '', (b) => b.total === 14);
  });

  afterAll(async () => {
    await consoleB?.stop();
    await consoleA?.stop();
    await producer.disconnect();
    await deleteTopics(admin, [...Object.values(topics), statusTopic]);
    await admin.disconnect();
  });

  it('lists Avro and JSON alerts with their contract fields, skipping a record that is not an alert', async () => {
    const { status, body } = await api('/api/alerts?limit=500');
    expect(status).toBe(200);
    expect(body.total).toBe(14);
    const quota = body.alerts.find((a: any) => a.alertId === avroAlert.alertId);
    expect(quota).toMatchObject({ ...avroAlert, status: 'NEW', assignee: null, revisions: 1 });
    expect(body.counts.rule).toEqual({ 'licence-quota-exceeded': 1, 'unlicensed-client': 1, 'volume-mismatch': 12 });
  });

  it('filters and pages', async () => {
    const ids = async (q: string) => (await api(`/api/alerts?${q}`)).body.alerts.map((a: any) => a.alertId);
    expect(await ids('severity=CRITICAL')).toEqual([avroAlert.alertId]);
    expect(await ids('licence=LIC-7')).toEqual([avroAlert.alertId]);
    expect(await ids('material=DY_OXIDE')).toEqual([jsonAlert.alertId]);
    expect(await ids('q=zhang%20trading')).toEqual([jsonAlert.alertId]);
    const page = (await api('/api/alerts?rule=volume-mismatch&offset=10&limit=5')).body;
    expect(page.total).toBe(12);
    // Newest first: the two oldest of the twelve are the last page.
    expect(page.alerts.map((a: any) => a.alertId)).toEqual([many[1]!.alertId, many[0]!.alertId]);
  });

  it('shows one alert with its related counts, and answers 404 for an unknown one', async () => {
    const { status, body } = await api(`/api/alerts/${encodeURIComponent(many[3]!.alertId)}`);
    expect(status).toBe(200);
    expect(body.alert.alertId).toBe(many[3]!.alertId);
    expect(body.related).toEqual({ producer: 12, client: null, licence: null });
    // No such report was ever on the report topics: named, but without fields.
    expect(body.reports).toEqual([{ reportId: many[3]!.subjectEventIds[0], kind: null, producerId: null, occurredAt: null, fields: {} }]);
    expect(body.status).toEqual({ alertId: many[3]!.alertId, status: 'NEW', assignee: null, changes: [] });
    expect((await api('/api/alerts/no-such-alert')).status).toBe(404);
    expect((await api('/api/alerts/no-such-alert/triage', { method: 'POST', body: { action: 'acknowledge', by: 'ana' } })).status).toBe(404);
  });

  it('refuses a missing or wrong token on every API route', async () => {
    for (const path of ['/api/alerts', `/api/alerts/${avroAlert.alertId}`, '/api/rates', '/api/verdicts/labels', '/api/stream']) {
      const wrong = await api(path, { token: `${token}x` });
      expect(wrong.status, path).toBe(401);
      expect(wrong.body.error).toMatch(/wrong token/);
    }
    const res = await fetch(new URL('/api/alerts', consoleA.url));
    expect(res.status).toBe(401);
    const triage = await api(`/api/alerts/${avroAlert.alertId}/triage`, { method: 'POST', body: { action: 'acknowledge', by: 'mallory' }, token: 'not-the-token' });
    expect(triage.status).toBe(401);
    expect((await api(`/api/alerts/${avroAlert.alertId}`)).body.status.status).toBe('NEW');
  });

  it('answers bad requests with a 400 naming what is wrong, and keeps serving', async () => {
    const triage = (init: { body?: unknown; rawBody?: string }) => api(`/api/alerts/${avroAlert.alertId}/triage`, { method: 'POST', ...init });
    expect(await triage({ rawBody: '{"action":' })).toMatchObject({ status: 400 });
    expect(await triage({ body: { action: 'close', by: 'ana', verdict: 'MAYBE' } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^verdict:/) } });
    expect(await triage({ body: { action: 'acknowledge', by: 'ana', admin: true } })).toMatchObject({ status: 400, body: { error: expect.stringMatching(/admin/) } });
    expect(await triage({ rawBody: JSON.stringify({ action: 'acknowledge', by: 'a', note: 'x'.repeat(20_000) }) })).toMatchObject({ status: 413 });
    expect(await api('/api/alerts?limit=-1')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^limit:/) } });
    expect(await api('/api/alerts?from=yesterday')).toMatchObject({ status: 400, body: { error: expect.stringMatching(/^from:/) } });
    expect(await api('/api/alerts?colour=red')).toMatchObject({ status: 400, body: { error: 'unknown parameter colour' } });
    expect((await api('/api/alerts')).status).toBe(200);
  });

  it('writes triage to the compacted status topic; a second console sees it, and a restarted one keeps it', async () => {
    const [configs] = (await admin.describeConfigs({ includeSynonyms: false, resources: [{ type: ConfigResourceTypes.TOPIC, name: statusTopic, configNames: ['cleanup.policy'] }] })).resources;
    expect(configs!.configEntries[0]!.configValue).toBe('compact');

    const path = `/api/alerts/${encodeURIComponent(jsonAlert.alertId)}`;
    expect((await api(`${path}/triage`, { method: 'POST', body: { action: 'assign', by: 'ana', assignee: 'bo' } })).status).toBe(200);
    const closed = await api(`${path}/triage`, { method: 'POST', body: { action: 'close', by: 'bo', verdict: 'CONFIRMED', note: 'shipment seized' } });
    expect(closed.body).toMatchObject({ status: 'CONFIRMED', assignee: 'bo' });
    expect((await api(`/api/alerts/${encodeURIComponent(many[0]!.alertId)}/triage`, { method: 'POST', body: { action: 'close', by: 'bo', verdict: 'FALSE_POSITIVE' } })).status).toBe(200);

    consoleB = await startTestConsole(settings, token);
    const apiB = consoleApi(consoleB.url, token);
    await waitForAlerts(apiB, 'status=CONFIRMED', (b) => b.total === 1);
    const seen = (await apiB(`${path}/status`)).body;
    expect(seen.changes.map((c: any) => [c.by, c.action, c.status, c.assignee, c.note])).toEqual([
      ['ana', 'assign', 'ACKNOWLEDGED', 'bo', null],
      ['bo', 'close', 'CONFIRMED', 'bo', 'shipment seized'],
    ]);
    // Back the other way: a change made on B reaches A.
    await apiB(`/api/alerts/${encodeURIComponent(avroAlert.alertId)}/triage`, { method: 'POST', body: { action: 'acknowledge', by: 'cy' } });
    await waitForAlerts(api, 'status=ACKNOWLEDGED', (b) => b.alerts.some((a: any) => a.alertId === avroAlert.alertId));

    await consoleB.stop();
    consoleB = await startTestConsole(settings, token);
    const restarted = consoleApi(consoleB.url, token);
    await waitForAlerts(restarted, 'status=CONFIRMED', (b) => b.total === 1 && b.alerts[0].alertId === jsonAlert.alertId);
  });

  it('rates verdicts per rule and exports confirmed ones as labels that backtest scores', async () => {
    await waitUntil(async () => (await api('/api/rates')).body.rules.some((r: any) => r.falsePositive === 1), { what: 'the false positive in the rates' });
    const { rules } = (await api('/api/rates')).body;
    expect(rules.find((r: any) => r.ruleId === 'unlicensed-client')).toMatchObject({ alerts: 1, confirmed: 1, falsePositive: 0, confirmedRate: 1 });
    expect(rules.find((r: any) => r.ruleId === 'volume-mismatch')).toMatchObject({ alerts: 12, confirmed: 0, falsePositive: 1, open: 11, confirmedRate: 0 });

    const exported = await api('/api/verdicts/labels');
    expect(exported.status).toBe(200);
    const file = join(mkdtempSync(join(tmpdir(), 'ree-console-')), 'verdicts.jsonl');
    writeFileSync(file, exported.body);
    const labels = await readLabelsFile(file);
    expect(labels).toEqual([
      { anomalyId: `verdict:${jsonAlert.alertId}`, ruleId: 'unlicensed-client', producerId: 'P-B', subjectEventIds: jsonAlert.subjectEventIds, clientId: 'C-9', licenceId: null },
    ]);
    const scored = backtest([jsonAlert, avroAlert], labels);
    expect(scored.rules.find((r) => r.ruleId === 'unlicensed-client')).toMatchObject({ truePositives: 1, detected: 1, recall: 1 });
  });

  it('shows a later record with the same alertId as a new revision', async () => {
    const grown = { ...many[5]!, subjectEventIds: [...many[5]!.subjectEventIds, 'r-more'], revision: 2, detectedAt: 2_000_000 };
    await producer.send({ topic: topics.alerts, messages: [{ key: grown.producerId, value: JSON.stringify(grown) }] });
    await waitForAlerts(api, 'rule=volume-mismatch&limit=1', (b) => b.alerts[0].alertId === grown.alertId && b.alerts[0].revisions === 2);
    const detail = (await api(`/api/alerts/${encodeURIComponent(grown.alertId)}`)).body;
    expect(detail.alert).toMatchObject({ revision: 2, subjectEventIds: grown.subjectEventIds });
    expect(detail.revisions).toHaveLength(2);
    expect((await api('/api/alerts?rule=volume-mismatch')).body.total).toBe(12);
  });
});
