/**
 * The local service stack as a library: `npm run stack:*` (scripts/stack.ts) and the integration
 * tests' global setup both drive the same code, so "works in tests" and "works by hand" cannot
 * drift apart.
 */
import { mkdirSync } from 'node:fs';
import { Kafka, logLevel } from 'kafkajs';
import { topicSpecs } from '../../src/config/topics.ts';
import { ensureTopics, type EnsureTopicsResult } from '../../src/kafka/admin.ts';
import { kafkaAnswers, kafkaPaths, startKafka, type Started } from './kafka.ts';
import { registryInstalled, kafkaInstalled, resolveArtifacts } from './maven.ts';
import { isOurs, readPidFile, removePidFile, stopProcess, waitFor, writePidFile } from './process.ts';
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

export async function stackUp(settings: StackSettings, options: UpOptions = {}): Promise<UpResult> {
  const t0 = Date.now();
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
  for (const name of services.filter((_, i) => !answering[i])) {
    const record = readPidFile(OPS[name].pidFile(settings));
    if (isOurs(record)) starting.set(name, record.pid);
    else {
      if (record) removePidFile(OPS[name].pidFile(settings));
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
}

export type DownOutcome = 'stopped' | 'killed' | 'not ours' | 'not running';

/** Stops what `up` started (per the pid files) and nothing else; registry first, as it is a client. */
export async function stackDown(
  settings: StackSettings,
  options: DownOptions = {},
): Promise<Record<ServiceName, DownOutcome>> {
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
      };
    }),
  );
}

/** Whether each service answers right now, for callers that only need to check. */
export async function probeServices(addresses: StackAddresses): Promise<Record<ServiceName, boolean>> {
  const entries = await Promise.all(SERVICES.map(async (n) => [n, await OPS[n].probe(addresses)] as const));
  return Object.fromEntries(entries) as Record<ServiceName, boolean>;
}
