/**
 * A detector that cannot start must say why and exit, so a supervisor restarts it (or a person
 * fixes the setting) instead of watching a process that looks alive and does nothing. Each case
 * runs `ree-sentinel run` as a user would, with one service pointed at a port nothing listens on.
 */
import { createServer, type Server } from 'node:net';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import { cli } from '../helpers/cli.ts';
import { freePort } from '../helpers/ports.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, deleteTopics, testKafka, uniqueName } from '../helpers/stack-env.ts';

/** The bound: a failed start-up is over within 30 s; a child still running then is killed. */
const EXIT_WITHIN_MS = 30_000;

interface Run {
  code: number | null;
  lines: Record<string, unknown>[];
  stderr: string;
}

/** `ree-sentinel run` with its stderr read as the JSON lines it must be. */
async function run(args: string[]): Promise<Run> {
  const { code, stderr } = await cli(['run', ...args], { timeoutMs: EXIT_WITHIN_MS });
  const lines = stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return { notJson: l };
      }
    });
  return { code, lines, stderr };
}

/** Exit code 2, every line JSON, the last one fatal and naming the setting to fix. */
function expectRefusal(result: Run, setting: string) {
  expect(result.lines.filter((l) => 'notJson' in l)).toEqual([]);
  expect(result.code).toBe(2);
  const last = result.lines.at(-1)!;
  expect(last.level).toBe(60);
  expect(String(last.msg)).toContain(setting);
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe.concurrent('run fails loudly when it cannot start', { timeout: EXIT_WITHIN_MS + 10_000 }, () => {
  const prefixes: string[] = [];
  const common = (name: string) => {
    const prefix = uniqueName(`ree-start-${name}`);
    prefixes.push(prefix);
    return ['--prefix', prefix, '--group', `${prefix}-g`, '--state-prefix', prefix, '--partitions', '1', '--http-port', '0'];
  };
  let busy: Server;
  let busyPort: number;
  let admin: Admin;

  beforeAll(async () => {
    busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '0.0.0.0', resolve));
    busyPort = (busy.address() as { port: number }).port;
    admin = testKafka('ree-start').admin();
    await admin.connect();
  });

  afterAll(async () => {
    await new Promise((resolve) => busy.close(resolve));
    await deleteTopics(admin, prefixes.flatMap((p) => Object.values(topicNames(p))));
    await admin.disconnect();
  });

  it('an unreachable broker', async () => {
    const result = await run([...common('kafka'), '--brokers', `127.0.0.1:${await freePort()}`, '--registry', SCHEMA_REGISTRY_URL, '--redis', REDIS_URL]);
    expectRefusal(result, 'KAFKA_BROKERS');
  });

  it('an unreachable schema registry', async () => {
    const registry = `http://127.0.0.1:${await freePort()}/apis/ccompat/v7`;
    const result = await run([...common('registry'), '--brokers', KAFKA_BROKERS, '--registry', registry, '--redis', REDIS_URL]);
    expectRefusal(result, 'SCHEMA_REGISTRY_URL');
    expect(String(result.lines.at(-1)!.msg)).toContain(registry);
  });

  it('an unreachable Redis', async () => {
    const redis = `redis://127.0.0.1:${await freePort()}`;
    const result = await run([...common('redis'), '--brokers', KAFKA_BROKERS, '--registry', 'none', '--alert-format', 'json', '--redis', redis]);
    expectRefusal(result, 'REDIS_URL');
    expect(String(result.lines.at(-1)!.msg)).toContain(redis);
  });

  it('a port already in use', async () => {
    const args = common('port').filter((a) => a !== '--http-port' && a !== '0');
    const result = await run([...args, '--http-port', String(busyPort), '--brokers', KAFKA_BROKERS, '--registry', 'none', '--alert-format', 'json', '--redis', REDIS_URL]);
    expectRefusal(result, 'REE_HTTP_PORT');
    expect(String(result.lines.at(-1)!.msg)).toContain(`port ${busyPort}`);
  });
});
