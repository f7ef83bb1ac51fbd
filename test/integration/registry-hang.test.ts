/**
 * A schema registry connection that goes silent must not sink a start-up or stall a consumer. In
 * CI a detector's start-up saw its first four subject registrations answered, then no answer to
 * the next request for 12 s, and gave up. Here a relay in front of the real registry does that on
 * purpose: its first connection carries a number of requests, then swallows the rest unanswered.
 */
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { createEncoder } from '../../src/codec/encode.ts';
import { createRegistryClient } from '../../src/codec/registry-client.ts';
import { loadSettings } from '../../src/config/settings.ts';
import { topicNames } from '../../src/config/topics.ts';
import { startDetector, type RunningDetector } from '../../src/cli/run.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { shipment } from '../helpers/builders.ts';
import { startSilentProxy, type SilentProxy } from '../helpers/silent-proxy.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName } from '../helpers/stack-env.ts';

describe('a registry connection that goes silent', () => {
  let admin: Admin;
  const proxies: SilentProxy[] = [];
  const prefixes: string[] = [];
  const proxy = async (answeredFirst: number) => {
    const p = await startSilentProxy(new URL(SCHEMA_REGISTRY_URL), { answeredFirst });
    proxies.push(p);
    return p;
  };

  beforeAll(async () => {
    admin = testKafka('ree-registry-hang').admin();
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await deleteTopics(admin, prefixes.flatMap((p) => Object.values(topicNames(p))));
    await admin.disconnect();
  });

  it('does not stop the detector from starting', async () => {
    // Four registrations (three requests each: config, register, set compatibility), then silence.
    const silent = await proxy(12);
    const prefix = uniqueName('ree-it-hang');
    prefixes.push(prefix);
    const settings = loadSettings(
      { KAFKA_BROKERS, SCHEMA_REGISTRY_URL: silent.url, REDIS_URL },
      { prefix, group: `${prefix}-group`, 'state-prefix': prefix, 'http-port': '0', partitions: '1', 'log-level': 'warn' },
    );
    let detector: RunningDetector | undefined;
    try {
      detector = await startDetector(settings, createLogger('warn'));
      expect(silent.swallowed()).toBeGreaterThan(0);
      // Every subject is set up: the alerts schema, registered last, is there in the real registry.
      const registered = await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${prefix}.alerts.v1-value/versions`).then((r) => r.json());
      expect(registered).toEqual([1]);
    } finally {
      await detector?.stop();
    }
  });

  it('does not stall decoding on a schema lookup', async () => {
    const names = topicNames(uniqueName('ree-it-hang-decode'));
    const encoder = createEncoder({ registry: createRegistryClient(SCHEMA_REGISTRY_URL), topicNames: names });
    const report = shipment({ producerId: 'P-HANG' });
    const value = await encoder.encode('shipments', report);
    // The batch's schema lookup is the request the connection swallows.
    const silent = await proxy(0);
    const decoder = createDecoder({ registry: createRegistryClient(silent.url) });
    const [outcome] = await decoder.decodeReports('shipments', [value]);
    expect(outcome).toMatchObject({ ok: true, value: { kind: 'shipments', event: { reportId: report.reportId } } });
    expect(silent.swallowed()).toBe(1);
  });
});
