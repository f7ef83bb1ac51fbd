/**
 * docker-compose.yml must describe the same stack as `npm run stack:up` (scripts/stack/settings.ts):
 * the same Kafka and Apicurio releases, the same host ports and API path. No Docker here, so this
 * checks the file itself; a drift would otherwise only show on someone else's machine.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, STACK_DEFAULTS } from '../../scripts/stack/settings.ts';

interface Service {
  image?: string;
  build?: unknown;
  command?: string[] | string;
  ports?: string[];
  environment?: Record<string, string | number | boolean>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: unknown;
}

const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
};

function service(name: string): Service {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service "${name}"`);
  return s;
}

function imageTag(name: string, repository: string): string {
  const image = service(name).image ?? '';
  const [repo, tag] = image.split(':');
  expect(repo).toBe(repository);
  expect(tag, `${name} image must pin a version`).toBeTruthy();
  return tag!;
}

/** "127.0.0.1:9092:9092" → host 9092 on 127.0.0.1, container 9092. */
function portMappings(name: string): { ip: string | undefined; host: number; container: number }[] {
  return (service(name).ports ?? []).map((entry) => {
    const parts = String(entry).split(':');
    const container = Number(parts.pop());
    const host = Number(parts.pop());
    return { ip: parts.pop(), host, container };
  });
}

function env(name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(service(name).environment ?? {}).map(([k, v]) => [k, String(v)]));
}

describe('docker-compose.yml agrees with the local stack', () => {
  it('runs the same Kafka 4 release on the same loopback port', () => {
    const tag = imageTag('kafka', 'apache/kafka');
    expect(tag).toBe(STACK_DEFAULTS.kafkaVersion);
    expect(tag.split('.')[0]).toBe('4');
    expect(portMappings('kafka')).toContainEqual({
      ip: STACK_DEFAULTS.host,
      host: STACK_DEFAULTS.kafkaPort,
      container: STACK_DEFAULTS.kafkaPort,
    });
    const kafka = env('kafka');
    expect(kafka.KAFKA_ADVERTISED_LISTENERS).toContain(`://${STACK_DEFAULTS.host}:${STACK_DEFAULTS.kafkaPort}`);
    expect(kafka.KAFKA_PROCESS_ROLES).toBe('broker,controller');
  });

  it('configures Kafka as the local stack does: no auto-created topics, single-replica internals', () => {
    const kafka = env('kafka');
    expect(kafka.KAFKA_AUTO_CREATE_TOPICS_ENABLE).toBe('false');
    expect(kafka.KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR).toBe('1');
    expect(kafka.KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR).toBe('1');
    expect(kafka.KAFKA_TRANSACTION_STATE_LOG_MIN_ISR).toBe('1');
    expect(kafka.KAFKA_MIN_INSYNC_REPLICAS).toBe('1');
  });

  it('runs the same Apicurio Registry 3 release, reachable on the same host port', () => {
    const tag = imageTag('registry', 'apicurio/apicurio-registry');
    expect(tag).toBe(STACK_DEFAULTS.apicurioVersion);
    expect(tag.split('.')[0]).toBe('3');
    expect(portMappings('registry').map((p) => [p.ip, p.host])).toContainEqual([
      STACK_DEFAULTS.host,
      STACK_DEFAULTS.registryPort,
    ]);
  });

  it('runs Redis 7 on the same port', () => {
    expect(imageTag('redis', 'redis').split('.')[0]).toBe('7');
    expect(portMappings('redis')).toContainEqual({
      ip: STACK_DEFAULTS.host,
      host: STACK_DEFAULTS.redisPort,
      container: STACK_DEFAULTS.redisPort,
    });
  });

  it('points the detector at the services through addresses that exist inside the compose network', () => {
    const detector = service('detector');
    expect(detector.build).toBeDefined();
    expect(detector.command).toEqual(['node', 'bin/ree-sentinel.js', 'run']);
    const e = env('detector');

    // The brokers must be one of the listeners Kafka advertises, or clients get redirected elsewhere.
    const advertised = env('kafka').KAFKA_ADVERTISED_LISTENERS!.split(',').map((l) => l.split('://')[1]);
    expect(advertised).toContain(e.KAFKA_BROKERS);
    expect(e.KAFKA_BROKERS!.startsWith('kafka:')).toBe(true);

    const registryUrl = new URL(e.SCHEMA_REGISTRY_URL!);
    expect(registryUrl.hostname).toBe('registry');
    expect(registryUrl.pathname).toBe(STACK_DEFAULTS.registryPath);
    expect(portMappings('registry').map((p) => p.container)).toContain(Number(registryUrl.port));

    const redisUrl = new URL(e.REDIS_URL!);
    expect(redisUrl.hostname).toBe('redis');
    expect(Number(redisUrl.port)).toBe(STACK_DEFAULTS.redisPort);

    const dependsOn = detector.depends_on as Record<string, { condition?: string }>;
    for (const name of ['kafka', 'registry', 'redis']) {
      expect(dependsOn[name]?.condition, `detector waits for ${name}`).toBe('service_healthy');
      expect(service(name).healthcheck, `${name} has a healthcheck`).toBeDefined();
    }
  });

  it('runs the console next to the detector, published on loopback only and never without a token', () => {
    const consoleService = service('console');
    expect(consoleService.command).toEqual(['node', 'bin/ree-sentinel.js', 'console']);
    const e = env('console');
    expect(e.KAFKA_BROKERS).toBe(env('detector').KAFKA_BROKERS);
    expect(e.SCHEMA_REGISTRY_URL).toBe(env('detector').SCHEMA_REGISTRY_URL);
    expect(portMappings('console')).toEqual([{ ip: '127.0.0.1', host: Number(e.REE_CONSOLE_PORT), container: Number(e.REE_CONSOLE_PORT) }]);
    // Compose refuses to start when the variable is unset, before the console would.
    expect(e.REE_CONSOLE_TOKEN).toMatch(/^\$\{REE_CONSOLE_TOKEN:\?.+\}$/);
  });

  it('builds the detector on the Node major the project declares', () => {
    const dockerfile = readFileSync(join(REPO_ROOT, 'Dockerfile'), 'utf8');
    const engines = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { engines: { node: string } })
      .engines.node;
    const nodeMajor = /\d+/.exec(engines)?.[0];
    expect(dockerfile).toMatch(new RegExp(`^FROM node:${nodeMajor}[.-]`, 'm'));
    expect(dockerfile).toContain('CMD ["node", "bin/ree-sentinel.js", "run"]');
  });

  it('names the same Kafka and Apicurio versions in stack/pom.xml as fallbacks', () => {
    const pom = readFileSync(join(REPO_ROOT, 'stack', 'pom.xml'), 'utf8');
    expect(pom).toContain(`<kafka.version>${STACK_DEFAULTS.kafkaVersion}</kafka.version>`);
    expect(pom).toContain(`<apicurio.version>${STACK_DEFAULTS.apicurioVersion}</apicurio.version>`);
  });
});
