/**
 * Settings of the local service stack (Kafka, schema registry, Redis) that `npm run stack:up`
 * starts and the integration tests use. Defaults live here once, so docker-compose.yml and its
 * unit test can be checked against the very values the local stack runs with.
 */
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const STACK_DEFAULTS = {
  /** Everything binds to loopback: this is a developer/CI stack, never a shared one. */
  host: '127.0.0.1',
  /**
   * 4.4.0 is the newest 4.x listed on Maven Central, but its kafka_2.13 pom depends on a
   * kafka-tools-api 4.4.0 that was never published there, so the broker cannot be resolved.
   * 4.3.1 is the newest release that resolves completely.
   */
  kafkaVersion: '4.3.1',
  kafkaPort: 9092,
  kafkaControllerPort: 9093,
  kafkaHeap: '1g',
  /** Apicurio 3.3 classes are Java 21 bytecode (class file 65), so it needs a newer JVM than Kafka. */
  apicurioVersion: '3.3.3',
  apicurioMinJava: 21,
  kafkaMinJava: 17,
  registryPort: 8081,
  registryHeap: '512m',
  /** The Confluent-compatible API of Apicurio; @kafkajs/confluent-schema-registry talks to it. */
  registryPath: '/apis/ccompat/v7',
  redisPort: 6379,
  topicPrefix: 'ree',
  startTimeoutMs: 120_000,
} as const;

export type ServiceName = 'kafka' | 'registry' | 'redis';
export const SERVICES: readonly ServiceName[] = ['kafka', 'registry', 'redis'];

export interface StackSettings {
  host: string;
  repoRoot: string;
  /** Root of everything the stack writes: jars, data, logs, pid files. Git-ignored. */
  stackDir: string;
  logsDir: string;
  runDir: string;
  pomFile: string;
  startTimeoutMs: number;
  topicPrefix: string;
  kafka: {
    version: string;
    port: number;
    controllerPort: number;
    heap: string;
    minJava: number;
    /** An explicit java binary; otherwise the first suitable one found is used. */
    java: string | undefined;
    dir: string;
    libsDir: string;
    dataDir: string;
  };
  registry: {
    version: string;
    port: number;
    heap: string;
    minJava: number;
    java: string | undefined;
    path: string;
    appDir: string;
  };
  redis: {
    port: number;
    dir: string;
  };
}

/** The repository root, found from this file's place rather than the working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

type Env = Record<string, string | undefined>;

function text(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function port(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1 || value > 65_535) {
    throw new Error(`${name}=${raw} is not a TCP port (an integer from 1 to 65535)`);
  }
  return value;
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    throw new Error(`${name}=${raw} is not a positive integer`);
  }
  return value;
}

function heap(env: Env, name: string, fallback: string): string {
  const value = text(env, name, fallback);
  // Passed straight to -Xmx, so refuse anything the JVM would reject with a less helpful message.
  if (!/^\d+[kKmMgG]?$/.test(value)) throw new Error(`${name}=${value} is not a JVM heap size like 512m or 1g`);
  return value;
}

/** Documented in `npm run stack:up -- --help`; keep the two in step. */
export const SETTINGS_HELP: readonly [string, string][] = [
  ['REE_STACK_DIR', 'where jars, data, logs and pid files go (default: <repo>/.stack)'],
  ['KAFKA_VERSION', `Kafka release from Maven Central (default ${STACK_DEFAULTS.kafkaVersion})`],
  ['KAFKA_PORT', `broker listener (default ${STACK_DEFAULTS.kafkaPort})`],
  ['KAFKA_CONTROLLER_PORT', `KRaft controller listener (default ${STACK_DEFAULTS.kafkaControllerPort})`],
  ['KAFKA_HEAP', `broker -Xmx (default ${STACK_DEFAULTS.kafkaHeap})`],
  ['KAFKA_JAVA', `java binary for the broker (default: first found with Java >= ${STACK_DEFAULTS.kafkaMinJava})`],
  ['APICURIO_VERSION', `Apicurio Registry release (default ${STACK_DEFAULTS.apicurioVersion})`],
  ['REGISTRY_PORT', `schema registry HTTP port (default ${STACK_DEFAULTS.registryPort})`],
  ['REGISTRY_HEAP', `registry -Xmx (default ${STACK_DEFAULTS.registryHeap})`],
  ['REGISTRY_JAVA', `java binary for the registry (default: first found with Java >= ${STACK_DEFAULTS.apicurioMinJava})`],
  ['REDIS_PORT', `Redis port (default ${STACK_DEFAULTS.redisPort})`],
  ['REE_TOPIC_PREFIX', `prefix of the topics created by up (default ${STACK_DEFAULTS.topicPrefix})`],
  ['STACK_START_TIMEOUT_MS', `how long to wait for each service (default ${STACK_DEFAULTS.startTimeoutMs})`],
];

export function loadSettings(env: Env = process.env): StackSettings {
  const rawDir = text(env, 'REE_STACK_DIR', join(REPO_ROOT, '.stack'));
  const stackDir = isAbsolute(rawDir) ? rawDir : resolve(REPO_ROOT, rawDir);
  const kafkaDir = join(stackDir, 'kafka');
  const kafkaPort = port(env, 'KAFKA_PORT', STACK_DEFAULTS.kafkaPort);
  const controllerPort = port(env, 'KAFKA_CONTROLLER_PORT', STACK_DEFAULTS.kafkaControllerPort);
  if (kafkaPort === controllerPort) {
    throw new Error(`KAFKA_PORT and KAFKA_CONTROLLER_PORT are both ${kafkaPort}; they must differ`);
  }
  return {
    host: STACK_DEFAULTS.host,
    repoRoot: REPO_ROOT,
    stackDir,
    logsDir: join(stackDir, 'logs'),
    runDir: join(stackDir, 'run'),
    pomFile: join(REPO_ROOT, 'stack', 'pom.xml'),
    startTimeoutMs: positiveInt(env, 'STACK_START_TIMEOUT_MS', STACK_DEFAULTS.startTimeoutMs),
    topicPrefix: text(env, 'REE_TOPIC_PREFIX', STACK_DEFAULTS.topicPrefix),
    kafka: {
      version: text(env, 'KAFKA_VERSION', STACK_DEFAULTS.kafkaVersion),
      port: kafkaPort,
      controllerPort,
      heap: heap(env, 'KAFKA_HEAP', STACK_DEFAULTS.kafkaHeap),
      minJava: STACK_DEFAULTS.kafkaMinJava,
      java: env.KAFKA_JAVA?.trim() || undefined,
      dir: kafkaDir,
      libsDir: join(kafkaDir, 'libs'),
      dataDir: join(kafkaDir, 'data'),
    },
    registry: {
      version: text(env, 'APICURIO_VERSION', STACK_DEFAULTS.apicurioVersion),
      port: port(env, 'REGISTRY_PORT', STACK_DEFAULTS.registryPort),
      heap: heap(env, 'REGISTRY_HEAP', STACK_DEFAULTS.registryHeap),
      minJava: STACK_DEFAULTS.apicurioMinJava,
      java: env.REGISTRY_JAVA?.trim() || undefined,
      path: STACK_DEFAULTS.registryPath,
      appDir: join(stackDir, 'apicurio'),
    },
    redis: {
      port: port(env, 'REDIS_PORT', STACK_DEFAULTS.redisPort),
      dir: join(stackDir, 'redis'),
    },
  };
}

export interface StackAddresses {
  kafkaBrokers: string;
  schemaRegistryUrl: string;
  redisUrl: string;
}

/** The addresses clients use, in the form the detector's KAFKA_BROKERS/SCHEMA_REGISTRY_URL/REDIS_URL take. */
export function stackAddresses(settings: StackSettings): StackAddresses {
  return {
    kafkaBrokers: `${settings.host}:${settings.kafka.port}`,
    schemaRegistryUrl: `http://${settings.host}:${settings.registry.port}${settings.registry.path}`,
    redisUrl: `redis://${settings.host}:${settings.redis.port}`,
  };
}
