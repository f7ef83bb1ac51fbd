/** The console's HTTP surface without Kafka: what is public, what needs the token, the headers. */
import { afterAll, describe, expect, it } from 'vitest';
import type { AlertFeed } from '../../src/console/alert-feed.ts';
import { createAlertIndex } from '../../src/console/alert-index.ts';
import { createReportCatalogue } from '../../src/console/report-catalogue.ts';
import { buildConsoleServer } from '../../src/console/server.ts';
import type { AlertStatus } from '../../src/console/alert-status.ts';
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

describe('triage on one alert from two people at once', () => {
  /** A status log whose writes finish only when the test says so, so two requests overlap for certain. */
  function heldLog() {
    const written: AlertStatus[] = [];
    const release: (() => void)[] = [];
    return {
      written,
      releaseAll: () => release.splice(0).forEach((go) => go()),
      log: {
        publish: (status: AlertStatus) =>
          new Promise<void>((resolve) => {
            written.push(status);
            release.push(resolve);
          }),
      },
    };
  }
  const auth = { authorization: `Bearer ${token}` };
  const post = (server: ReturnType<typeof buildConsoleServer>, alertId: string, payload: object) =>
    server.inject({ method: 'POST', url: `/api/alerts/${alertId}/triage`, headers: auth, payload });

  it('keeps both changes when alice closes and bob assigns at the same moment', async () => {
    const held = heldLog();
    const idx = createAlertIndex();
    const target = alert();
    idx.addAlert(target);
    const server = buildConsoleServer({ index: idx, reports: createReportCatalogue(), feed: silentFeed, statusLog: held.log, token });
    const alice = post(server, target.alertId, { action: 'close', by: 'alice', verdict: 'CONFIRMED' });
    const bob = post(server, target.alertId, { action: 'assign', by: 'bob', assignee: 'bob' });
    // Release writes until both requests have answered (the second publishes only after the first is done).
    while (held.written.length < 2) {
      await new Promise((resolve) => setImmediate(resolve));
      held.releaseAll();
    }
    held.releaseAll();
    expect((await alice).statusCode).toBe(200);
    expect((await bob).statusCode).toBe(200);
    const status = idx.statusOf(target.alertId);
    expect(status.changes.map((c) => `${c.by} ${c.action}`)).toEqual(['alice close', 'bob assign']);
    expect(status).toMatchObject({ status: 'CONFIRMED', assignee: 'bob' });
    // What reached the topic last carries the whole history, so a restart keeps alice's verdict too.
    expect(held.written.at(-1)!.changes).toHaveLength(2);
    await server.close();
  });

  it('answers 409 to a change built on a history that has moved on, and applies the one built on the latest', async () => {
    const idx = createAlertIndex();
    const target = alert();
    idx.addAlert(target);
    const server = buildConsoleServer({ index: idx, reports: createReportCatalogue(), feed: silentFeed, statusLog: { publish: async () => undefined }, token });
    const first = await post(server, target.alertId, { action: 'acknowledge', by: 'alice', lastChangeId: null });
    expect(first.statusCode).toBe(200);
    const seen = first.json().changes[0].changeId as string;
    // bob's page still shows the alert as it was before alice acknowledged it.
    const stale = await post(server, target.alertId, { action: 'close', by: 'bob', verdict: 'FALSE_POSITIVE', lastChangeId: null });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().error).toMatch(/changed since you loaded it.*acknowledge by alice/);
    expect(idx.statusOf(target.alertId).status).toBe('ACKNOWLEDGED');
    const fresh = await post(server, target.alertId, { action: 'close', by: 'bob', verdict: 'FALSE_POSITIVE', lastChangeId: seen });
    expect(fresh.statusCode).toBe(200);
    expect(idx.statusOf(target.alertId).changes.map((c) => c.by)).toEqual(['alice', 'bob']);
    await server.close();
  });
});
