/** The console's HTTP surface without Kafka: what is public, what needs the token, the headers. */
import { afterAll, describe, expect, it } from 'vitest';
import type { AlertFeed } from '../../src/console/alert-feed.ts';
import { createAlertIndex } from '../../src/console/alert-index.ts';
import { createReportCatalogue } from '../../src/console/report-catalogue.ts';
import { buildConsoleServer } from '../../src/console/server.ts';
import { alert } from '../helpers/alerts.ts';

const token = 'unit-test-token-0123456789';
const index = createAlertIndex();
const stored = alert();
index.addAlert(stored);
const silentFeed: AlertFeed = { start: async () => undefined, subscribe: () => () => undefined, announce: () => undefined, stop: async () => undefined };
const app = buildConsoleServer({ index, reports: createReportCatalogue(), feed: silentFeed, statusLog: { publish: async () => undefined }, token });
afterAll(() => app.close());

describe('console server', () => {
  it('serves the page without the token, with a policy that forbids inline and foreign script', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<script type="module" src="/app.js">');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect(page.headers['content-security-policy']).not.toMatch(/unsafe-inline/);
    expect(page.headers['x-content-type-options']).toBe('nosniff');
  });

  it('needs the token for everything else, however the path is spelled', async () => {
    for (const url of ['/api/alerts', '/%61pi/alerts', '/api/%61lerts', `/api/alerts/${stored.alertId}`, '/api/rates', '/api/nothing-here', '/anything']) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(401);
      expect(res.body, url).not.toContain(stored.alertId);
    }
    const ok = await app.inject({ method: 'GET', url: '/%61pi/alerts', headers: { authorization: `Bearer ${token}` } });
    expect(ok.json().alerts[0].alertId).toBe(stored.alertId);
  });
});
