/**
 * The console in a real browser against the live detector: log in (a wrong token is refused),
 * watch a report produced to Kafka arrive as an alert, filter, read the evidence (a client name
 * that is an HTML payload stays text), triage, and find the verdict again after a page reload and
 * after a console restart.
 */
import type { Admin, Producer } from 'kafkajs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { alertStatusTopicSpec, topicNames } from '../../src/config/topics.ts';
import type { RunningConsole } from '../../src/console/start.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { launchChromium } from '../helpers/browser.ts';
import { D0, at, shipment } from '../helpers/builders.ts';
import { consoleTestSettings, newToken, startTestConsole } from '../helpers/console.ts';
import { deleteTopics, testKafka, uniqueName } from '../helpers/stack-env.ts';

const XSS_NAME = '<img src=x onerror=alert(1)>';

describe('the console in headless Chromium', () => {
  const prefix = uniqueName('ree-console-ui');
  const settings = consoleTestSettings(prefix, { 'alert-format': 'avro' });
  const topics = topicNames(prefix);
  const token = newToken();
  const kafka = testKafka('ree-console-ui');
  let admin: Admin;
  let producer: Producer;
  let detector: RunningDetector;
  let consoleServer: RunningConsole;
  let browser: Browser;
  let page: Page;
  const dialogs: string[] = [];

  const toXss = shipment({ producerId: 'P-UI1', clientId: 'C-XSS', clientName: XSS_NAME, licenceId: null, quantityKg: 50, occurredAt: at(D0) });
  const toOther = shipment({ producerId: 'P-UI1', clientId: 'C-OTHER', clientName: 'Other Metals Ltd', licenceId: null, quantityKg: 40, occurredAt: at(D0, 14) });
  const send = (report: typeof toXss) => producer.send({ topic: topics.shipments, messages: [{ key: report.producerId, value: JSON.stringify(report) }] });
  const row = (clientId: string) => page.locator('#alerts tbody tr', { hasText: clientId });

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    producer = kafka.producer();
    await producer.connect();
    detector = await startDetector(settings, createLogger('warn'));
    consoleServer = await startTestConsole(settings, token);
    browser = await launchChromium();
    page = await browser.newPage();
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    page.setDefaultTimeout(30_000);
  });

  afterAll(async () => {
    await browser?.close();
    await consoleServer?.stop();
    await detector?.stop();
    await producer.disconnect();
    await deleteTopics(admin, [...Object.values(topics), alertStatusTopicSpec(prefix).topic]);
    await admin.disconnect();
  });

  it('refuses a wrong token at the login, and lets the right one in', async () => {
    await page.goto(consoleServer.url);
    await page.fill('input[name=name]', 'Ana Investigator');
    await page.fill('input[name=token]', `${token}-wrong`);
    await page.click('button[type=submit]');
    await expect.poll(() => page.locator('.login .error').textContent()).toBe('Wrong token.');
    expect(await page.locator('#alerts').count()).toBe(0);

    await page.fill('input[name=token]', token);
    await page.click('button[type=submit]');
    await page.locator('#alerts').waitFor();
    expect(await page.locator('#range').textContent()).toBe('no alerts match');
    await page.locator('#live.on').waitFor();
  });

  it('shows a report produced to Kafka as an alert on the open page, without a reload', async () => {
    await send(toXss);
    await row('C-XSS').waitFor();
    expect(await row('C-XSS').locator('td').nth(2).textContent()).toBe('unlicensed-client');
    await send(toOther);
    await row('C-OTHER').waitFor();
    expect(await page.locator('#alerts tbody tr').count()).toBe(2);
    // Newest first.
    expect(await page.locator('#alerts tbody tr').first().textContent()).toContain('C-OTHER');
  });

  it('filters by client and by search text', async () => {
    await page.fill('input[name=client]', 'C-OTHER');
    await page.click('form.filters button[type=submit]');
    await expect.poll(() => page.locator('#alerts tbody tr').count()).toBe(1);
    expect(await page.locator('#alerts tbody tr').textContent()).toContain('C-OTHER');

    // Only the hash changes, so the page re-renders in place: wait for the new rows, then count them.
    await page.goto(`${consoleServer.url}#/?q=${encodeURIComponent(toXss.reportId)}`);
    await row('C-XSS').waitFor();
    expect(await page.locator('#alerts tbody tr').count()).toBe(1);
    expect(await page.locator('input[name=q]').inputValue()).toBe(toXss.reportId);
  });

  it('renders a client name that is an HTML payload as text: nothing runs', async () => {
    await row('C-XSS').click();
    await page.locator('#evidence').waitFor();
    const nameCell = page.locator('#evidence tr', { hasText: 'clientName' }).locator('td').nth(1);
    expect(await nameCell.textContent()).toBe(XSS_NAME);
    expect(await page.locator('main img').count()).toBe(0);
    // The report behind it, read from the shipments topic, with its key fields (the name as text too).
    const report = page.locator('#subjects tbody tr', { hasText: toXss.reportId });
    expect(await report.locator('td').nth(1).textContent()).toBe('shipments');
    expect(await report.locator('td').nth(4).textContent()).toContain(`clientName ${XSS_NAME}`);
    expect(await report.locator('td').nth(4).textContent()).toContain('quantityKg 50');
    expect(dialogs).toEqual([]);
  });

  it('keeps a triage verdict across a page reload and a console restart', async () => {
    await page.fill('#triage input[name=note]', 'seized at the port');
    await page.click('#triage button:has-text("Close: confirmed")');
    await page.locator('#history', { hasText: 'close → CONFIRMED' }).waitFor();
    expect(await page.locator('#history').textContent()).toContain('Ana Investigator');
    expect(await page.locator('#history').textContent()).toContain('seized at the port');

    await page.reload();
    await page.locator('dl.facts', { hasText: 'CONFIRMED' }).waitFor();

    const port = consoleServer.port;
    await consoleServer.stop();
    consoleServer = await startTestConsole(settings, token, port);
    // The new console rebuilds its view from the topics; the page finds the verdict again.
    await expect
      .poll(async () => {
        await page.reload();
        return page.locator('dl.facts').textContent({ timeout: 2_000 }).catch(() => '');
      }, { timeout: 30_000, interval: 500 })
      .toContain('CONFIRMED');
    expect(await page.locator('#history').textContent()).toContain('seized at the port');
    expect(dialogs).toEqual([]);
  });
});
