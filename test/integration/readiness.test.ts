/**
 * /readyz tells the truth: not ready while Redis is unreachable, ready again once it is back, while
 * /healthz (liveness) stays 200 throughout, since an outage is waited out rather than cured by a
 * restart. Redis is reached through a relay the test cuts; the Redis itself is the real, shared one.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { topicNames } from '../../src/config/topics.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { KAFKA_BROKERS, REDIS_URL, deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';
import { freePort } from '../helpers/ports.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';

describe('readiness and liveness of the live detector', () => {
  const prefix = uniqueName('ree-ready');
  let admin: Admin;
  let proxy: TcpProxy;
  let detector: RunningDetector;

  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${detector.httpPort}${path}`);
    return { status: res.status, body: await res.text() };
  };

  beforeAll(async () => {
    admin = testKafka('ree-ready').admin();
    await admin.connect();
    const redis = new URL(REDIS_URL);
    proxy = await startTcpProxy({ host: redis.hostname, port: Number(redis.port || 6379) });
    const settings = loadSettings(
      { KAFKA_BROKERS },
      { prefix, group: `${prefix}-g`, 'state-prefix': prefix, 'http-port': String(await freePort()), partitions: '1', registry: 'none', 'alert-format': 'json', redis: `redis://127.0.0.1:${proxy.port}`, 'log-level': 'silent' },
    );
    detector = await startDetector(settings, createLogger('silent'));
  });

  afterAll(async () => {
    await detector?.stop();
    await proxy?.close();
    await deleteTopics(admin, Object.values(topicNames(prefix)));
    await admin?.disconnect();
  });

  it('is not ready while Redis is unreachable, ready again when it is back, and alive throughout', async () => {
    await waitUntil(() => detector.ready(), { timeoutMs: 30_000, what: 'detector ready' });
    expect(await get('/readyz')).toEqual({ status: 200, body: 'ready\n' });

    await proxy.cut();
    await waitUntil(async () => (await get('/readyz')).status === 503, { timeoutMs: 15_000, what: '/readyz to turn 503' });
    expect((await get('/readyz')).body).toContain('Redis unreachable');
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });

    await proxy.restore();
    await waitUntil(async () => (await get('/readyz')).status === 200, { timeoutMs: 30_000, what: '/readyz to turn 200 again' });
    expect(await get('/healthz')).toEqual({ status: 200, body: 'ok\n' });
  });
});
