/**
 * Takes the README's screenshots of the enforcement console with the headless Chromium the browser
 * tests use: a simulated month goes to topics of its own (reports via `simulate --to-kafka`, the
 * alerts its replay finds), a console follows them, a few alerts are triaged, and the inbox and
 * one alert page are captured. The topics are deleted afterwards.
 *
 *   npx tsx scripts/console-screenshot.ts [--out docs] [--chromium /usr/bin/chromium]
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Kafka, logLevel } from 'kafkajs';
import { chromium } from 'playwright-core';
import { loadSettings } from '../src/config/settings.ts';
import { alertStatusTopicSpec, topicNames } from '../src/config/topics.ts';
import { startConsole } from '../src/console/start.ts';
import type { Alert } from '../src/domain/events.ts';
import { createLogger } from '../src/ops/logger.ts';

const { values } = parseArgs({ options: { out: { type: 'string', default: 'docs' }, chromium: { type: 'string', default: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium' } } });
const prefix = `ree-screenshot-${randomBytes(3).toString('hex')}`;
const settings = loadSettings(process.env, { prefix, partitions: '1', 'log-level': 'warn' });
const topics = topicNames(prefix);
const work = mkdtempSync(join(tmpdir(), 'ree-screenshot-'));
const cli = (...args: string[]) => execFileSync(process.execPath, ['bin/ree-sentinel.js', ...args], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, LOG_LEVEL: 'warn' } });

const token = randomBytes(24).toString('hex');
const kafka = new Kafka({ clientId: 'ree-screenshot', brokers: settings.kafkaBrokers, logLevel: logLevel.ERROR });
const admin = kafka.admin();
await admin.connect();
const consoleServer = await startConsole(settings, { host: '127.0.0.1', port: 0, token }, createLogger('warn'));
try {
  const simulation = ['--seed', '42', '--producers', '60', '--days', '30'];
  cli('simulate', ...simulation, '--out', join(work, 'rec.jsonl'));
  cli('simulate', ...simulation, '--to-kafka', '--format', 'json', '--prefix', prefix);
  cli('replay', join(work, 'rec.jsonl'), '--out', join(work, 'alerts.jsonl'));
  const alerts = readFileSync(join(work, 'alerts.jsonl'), 'utf8').trim().split('\n').map((line) => JSON.parse(line) as Alert);
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: topics.alerts, messages: alerts.map((a) => ({ key: a.producerId, value: JSON.stringify(a) })) });
  await producer.disconnect();
  while (consoleServer.index.size() < alerts.length) await new Promise((r) => setTimeout(r, 200));

  const triage = (alert: Alert, body: object) =>
    fetch(new URL(`/api/alerts/${encodeURIComponent(alert.alertId)}/triage`, consoleServer.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  const [first, second, third] = alerts.filter((a) => a.ruleId === 'unlicensed-client');
  await triage(first!, { action: 'assign', by: 'A. Investigator', assignee: 'B. Analyst', note: 'checking the export declaration' });
  await triage(second!, { action: 'close', by: 'B. Analyst', verdict: 'CONFIRMED', note: 'no licence on file; case opened' });
  await triage(third!, { action: 'close', by: 'B. Analyst', verdict: 'FALSE_POSITIVE', note: 'licence issued late, backdated' });

  mkdirSync(values.out!, { recursive: true });
  const browser = await chromium.launch({ executablePath: values.chromium!, headless: true, args: ['--no-sandbox'] });
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(consoleServer.url);
  await page.fill('input[name=name]', 'A. Investigator');
  await page.fill('input[name=token]', token);
  await page.click('button[type=submit]');
  await page.locator('#alerts tbody tr').first().waitFor();
  await page.locator('#live.on').waitFor();
  await page.screenshot({ path: join(values.out!, 'console-inbox.png') });
  await page.goto(`${consoleServer.url}#/alert/${encodeURIComponent(first!.alertId)}`);
  await page.locator('#history').waitFor();
  await page.screenshot({ path: join(values.out!, 'console-alert.png'), fullPage: true });
  await browser.close();
  console.log(`screenshots in ${values.out}/console-inbox.png and ${values.out}/console-alert.png`);
} finally {
  await consoleServer.stop();
  await admin.deleteTopics({ topics: [...Object.values(topics), alertStatusTopicSpec(prefix).topic] }).catch(() => undefined);
  await admin.disconnect();
  rmSync(work, { recursive: true, force: true });
}
