/**
 * The local service stack as a library: `npm run stack:*` (scripts/stack.ts) and the integration
 * tests' global setup both drive the same code, so "works in tests" and "works by hand" cannot
 * drift apart.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { topicSpecs } from '../../src/config/topics.ts';
import { ensureTopics, type EnsureTopicsResult } from '../../src/kafka/admin.ts';
import { kafkaAnswers, kafkaPaths, startKafka, type Started } from './kafka.ts';
import { registryInstalled, kafkaInstalled, resolveArtifacts } from './maven.ts';
import { isOurs, readPidFile, removePidFile, stopProcess, waitFor, withLock, writePidFile } from './process.ts';
import { redisAnswers, redisPaths, startRedis } from './redis.ts';
import { registryAnswers, registryPaths, startRegistry } from './registry.ts';
import { SERVICES, stackAddresses, type ServiceName, type StackAddresses, type StackSettings } from './settings.ts';

export * from './settings.ts';

type Log = (line: string) => void;

interface ServiceOps {
  label: string;
  address: (a: StackAddresses) => string;
  probe: (a: StackAddresses) => Promise<boolean>;
  pidFile: (s: StackSettings) => string;
  logFile: (s: StackSettings) => string;
  start: (s: StackSettings) => Started;
  /** Kafka's controlled shutdown can take a while; cutting it short only costs recovery time. */
  stopGraceMs: number;
}

const OPS: Record<ServiceName, ServiceOps> = {
  kafka: {
    label: 'Kafka',
    address: (a) => a.kafkaBrokers,
    probe: (a) => kafkaAnswers(a.kafkaBrokers),
    pidFile: (s) => kafkaPaths(s).pidFile,
    logFile: (s) => kafkaPaths(s).logFile,
    start: startKafka,
    stopGraceMs: 30_000,
  },
  registry: {
    label: 'Schema registry',
    address: (a) => a.schemaRegistryUrl,
    probe: (a) => registryAnswers(a.schemaRegistryUrl),
    pidFile: (s) => registryPaths(s).pidFile,
    logFile: (s) => registryPaths(s).logFile,
    start: startRegistry,
    stopGraceMs: 15_000,
  },
  redis: {
    label: 'Redis',
    address: (a) => a.redisUrl,
    probe: (a) => redisAnswers(a.redisUrl),
    pidFile: (s) => redisPaths(s).pidFile,
    logFile: (s) => redisPaths(s).logFile,
    start: startRedis,
    stopGraceMs: 10_000,
  },
};

export interface UpOptions {
  log?: Log;
  /** Which services to bring up; all by default. */
  services?: readonly ServiceName[];
  /** Create the project's topics once Kafka answers (default true). */
  createTopics?: boolean;
  /**
   * Start services only for the caller's lifetime (a test run that stops them afterwards). Without
   * it, services are the user's to keep, and any found running for a test run are claimed as such.
   */
  temporary?: boolean;
}

export interface UpResult {
  addresses: StackAddresses;
  /** Started by this call, so a caller that cleans up after itself knows what to stop. */
  started: ServiceName[];
  /** Already answering before this call (ours from an earlier `up`, or someone else's). */
  reused: ServiceName[];
  topics: EnsureTopicsResult | undefined;
  elapsedMs: number;
}

export class StackStartError extends Error {
  constructor(
    message: string,
    /** Services this attempt started before it failed; still running. */
    readonly started: ServiceName[],
  ) {
    super(message);
    this.name = 'StackStartError';
  }
}

// Long enough for another process's cold start (Maven download plus every service's timeout).
function lockTimeout(settings: StackSettings): number {
  return 10 * 60_000 + settings.startTimeoutMs;
}

function lockFile(settings: StackSettings): string {
  return join(settings.runDir, 'stack.lock');
}

export async function stackUp(settings: StackSettings, options: UpOptions = {}): Promise<UpResult> {
  const t0 = Date.now();
  return withLock(lockFile(settings), lockTimeout(settings), () => bringUp(settings, options, t0));
}

async function bringUp(settings: StackSettings, options: UpOptions, t0: number): Promise<UpResult> {
  const log = options.log ?? (() => undefined);
  const services = options.services ?? SERVICES;
  const addresses = stackAddresses(settings);
  mkdirSync(settings.logsDir, { recursive: true });
  mkdirSync(settings.runDir, { recursive: true });

  const answering = await Promise.all(services.map((name) => OPS[name].probe(addresses)));
  const reused = services.filter((_, i) => answering[i]);
  const toStart: ServiceName[] = [];
  /** Ours from an earlier call, alive but not answering yet: wait rather than start a second one. */
  const starting = new Map<ServiceName, number>();
  for (const [i, name] of services.entries()) {
    const file = OPS[name].pidFile(settings);
    const record = readPidFile(file);
    if (isOurs(record)) {
      if (record.temporary && !options.temporary) writePidFile(file, { ...record, temporary: false });
      if (!answering[i]) starting.set(name, record.pid);
    } else if (!answering[i]) {
      if (record) removePidFile(file);
      toStart.push(name);
    }
  }

  const started: ServiceName[] = [];
  try {
    const needKafka = toStart.includes('kafka');
    const needRegistry = toStart.includes('registry');
    if ((needKafka && !kafkaInstalled(settings)) || (needRegistry && !registryInstalled(settings))) {
      log(
        `Fetching ${[needKafka && !kafkaInstalled(settings) && `Kafka ${settings.kafka.version}`, needRegistry && !registryInstalled(settings) && `Apicurio Registry ${settings.registry.version}`].filter(Boolean).join(' and ')} with Maven (only the first time)...`,
      );
      const t = Date.now();
      resolveArtifacts(settings, { kafka: needKafka, registry: needRegistry });
      log(`  resolved in ${((Date.now() - t) / 1000).toFixed(1)} s`);
    }

    for (const name of toStart) {
      const ops = OPS[name];
      const child = ops.start(settings);
      writePidFile(ops.pidFile(settings), {
        pid: child.pid,
        match: child.match,
        startedAt: new Date().toISOString(),
        logFile: child.logFile,
        temporary: options.temporary === true,
      });
      started.push(name);
      starting.set(name, child.pid);
      log(`Starting ${ops.label} (pid ${child.pid}, log ${child.logFile})`);
    }

    await Promise.all(
      [...starting].map(async ([name, pid]) => {
        const ops = OPS[name];
        await waitFor(() => ops.probe(addresses), {
          name: `${ops.label} at ${ops.address(addresses)}`,
          timeoutMs: settings.startTimeoutMs,
          intervalMs: 300,
          pid,
          logFile: ops.logFile(settings),
        });
      }),
    );

    let topics: EnsureTopicsResult | undefined;
    if (services.includes('kafka') && options.createTopics !== false) {
      topics = await createProjectTopics(settings);
      if (topics.created.length > 0) log(`Created topics: ${topics.created.join(', ')}`);
    }
    return { addresses, started, reused, topics, elapsedMs: Date.now() - t0 };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new StackStartError(message, started);
  }
}

async function createProjectTopics(settings: StackSettings): Promise<EnsureTopicsResult> {
  const kafka = new Kafka({
    clientId: 'ree-stack',
    brokers: [stackAddresses(settings).kafkaBrokers],
    logLevel: logLevel.ERROR,
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const result = await ensureTopics(admin, topicSpecs(settings.topicPrefix));
    await warmGroupCoordinator(settings);
    return result;
  } finally {
    await admin.disconnect();
  }
}

/**
 * The broker creates __consumer_offsets on the first coordinator lookup, and until it has a leader
 * every consumer logs "group coordinator is not available". Looking one up here moves that wait
 * into `up`, where it happens once, instead of into the first test or detector start.
 */
async function warmGroupCoordinator(settings: StackSettings): Promise<void> {
  const kafka = new Kafka({
    clientId: 'ree-stack',
    brokers: [stackAddresses(settings).kafkaBrokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 10, initialRetryTime: 200 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.describeGroups(['ree-stack-warmup']);
  } finally {
    await admin.disconnect();
  }
}

export interface DownOptions {
  log?: Log;
  services?: readonly ServiceName[];
  /** Stop only services still marked as started for a test run (see UpOptions.temporary). */
  onlyTemporary?: boolean;
}

export type DownOutcome = 'stopped' | 'killed' | 'kept' | 'not ours' | 'not running';

/** Stops what `up` started (per the pid files) and nothing else; registry first, as it is a client. */
export async function stackDown(
  settings: StackSettings,
  options: DownOptions = {},
): Promise<Record<ServiceName, DownOutcome>> {
  // Under the same lock as up, so an up never mistakes a broker that is shutting down for one starting.
  return withLock(lockFile(settings), lockTimeout(settings), () => bringDown(settings, options));
}

async function bringDown(settings: StackSettings, options: DownOptions): Promise<Record<ServiceName, DownOutcome>> {
  const log = options.log ?? (() => undefined);
  const services = options.services ?? SERVICES;
  const order: ServiceName[] = ['registry', 'kafka', 'redis'];
  const outcome = {} as Record<ServiceName, DownOutcome>;
  const addresses = stackAddresses(settings);
  for (const name of order.filter((n) => services.includes(n))) {
    const ops = OPS[name];
    const file = ops.pidFile(settings);
    const record = readPidFile(file);
    if (!isOurs(record)) {
      if (record) removePidFile(file);
      outcome[name] = (await ops.probe(addresses)) ? 'not ours' : 'not running';
      log(
        outcome[name] === 'not ours'
          ? `${ops.label}: left running (not started by stack:up)`
          : `${ops.label}: not running`,
      );
      continue;
    }
    if (options.onlyTemporary && !record.temporary) {
      outcome[name] = 'kept';
      log(`${ops.label}: left running (claimed by a stack:up since)`);
      continue;
    }
    const result = await stopProcess(record.pid, ops.stopGraceMs);
    removePidFile(file);
    outcome[name] = result === 'killed' ? 'killed' : 'stopped';
    log(`${ops.label}: ${result === 'killed' ? 'killed after the grace period' : 'stopped'} (pid ${record.pid})`);
  }
  return outcome;
}

export interface ServiceStatus {
  name: ServiceName;
  label: string;
  up: boolean;
  address: string;
  /** Set when the running process is the one `up` started. */
  pid: number | undefined;
  /** Started for a test run that will stop it, rather than kept by stack:up. */
  temporary: boolean;
}

export async function stackStatus(settings: StackSettings): Promise<ServiceStatus[]> {
  const addresses = stackAddresses(settings);
  return Promise.all(
    SERVICES.map(async (name) => {
      const ops = OPS[name];
      const record = readPidFile(ops.pidFile(settings));
      return {
        name,
        label: ops.label,
        up: await ops.probe(addresses),
        address: ops.address(addresses),
        pid: isOurs(record) ? record.pid : undefined,
        temporary: isOurs(record) && record.temporary,
      };
    }),
  );
}

/** Whether each service answers right now, for callers that only need to check. */
export async function probeServices(addresses: StackAddresses): Promise<Record<ServiceName, boolean>> {
  const entries = await Promise.all(SERVICES.map(async (n) => [n, await OPS[n].probe(addresses)] as const));
  return Object.fromEntries(entries) as Record<ServiceName, boolean>;
}
