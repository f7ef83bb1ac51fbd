/**
 * `ree-sentinel run`: the live detector. Creates its topics, loads licences, consumes reports,
 * keeps state in Redis, publishes alerts; serves /healthz, /readyz, /metrics; reloads the rules
 * file on change or SIGHUP without a restart; finishes the batch in flight on SIGTERM/SIGINT.
 */
import { watch } from 'node:fs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import { createDecoder } from '../codec/decode.ts';
import { createEncoder, type Encoder } from '../codec/encode.ts';
import { loadRulesFile, type RuleSet } from '../config/rules-file.ts';
import { loadSettings, settingsHelp, type Settings } from '../config/settings.ts';
import { topicNames, topicSpecs } from '../config/topics.ts';
import { createLicenceConsumer } from '../consumers/licence-consumer.ts';
import { createReportConsumer } from '../consumers/report-consumer.ts';
import { createWatchlistConsumer } from '../consumers/watchlist-consumer.ts';
import { loadCatalogue } from '../domain/catalogue.ts';
import { errorMessage } from '../errors.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { startOpsServer } from '../ops/http.ts';
import { createLogger, type Logger } from '../ops/logger.ts';
import { createMetrics } from '../ops/metrics.ts';
import { createPipeline } from '../pipeline/pipeline.ts';
import { createKafkaAlertSink } from '../producers/alert-sink.ts';
import { createKafkaDeadLetterSink } from '../producers/dead-letter-sink.ts';
import { createRedisStore } from '../state/redis-store.ts';
import { parseCommandArgs, type Options } from './args.ts';

export const RUN_USAGE = `Usage: ree-sentinel run [options]

Runs the live detector: reads <prefix>.production/shipments/receipts/inventory.v1,
<prefix>.licences.v1 and <prefix>.watchlist.v1, keeps per-producer balances in Redis, writes alerts to <prefix>.alerts.v1
and bad records to <prefix>.deadletter.v1. Every option also reads from its environment variable.

Options (flag, environment variable, meaning):
${settingsHelp()}
  -h, --help                                   this help`;

const RUN_OPTIONS: Options = Object.fromEntries(
  ['brokers', 'registry', 'redis', 'prefix', 'group', 'alert-format', 'rules', 'state-prefix', 'http-port', 'partitions', 'replication', 'concurrency', 'log-level'].map(
    (flag) => [flag, { type: 'string' as const }],
  ),
);

export interface RunningDetector {
  settings: Settings;
  httpPort: number | null;
  ready(): boolean;
  /** The rules in force (another object once the rules file has been reloaded). */
  rules(): RuleSet;
  /**
   * Resolves with the error when a consumer has stopped for good (kafkajs will not restart it).
   * The detector is then no longer ready, and the process should exit so a supervisor restarts it.
   */
  failed: Promise<unknown>;
  stop(): Promise<void>;
}

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      if (level <= KafkaLogLevel.ERROR) logger.error(extra, `kafka: ${message}`);
      else if (level === KafkaLogLevel.WARN) logger.warn(extra, `kafka: ${message}`);
      else logger.debug(extra, `kafka: ${message}`);
    };
}

/** Starts the detector; used by the CLI and by integration tests that need a real instance. */
export async function startDetector(settings: Settings, logger: Logger = createLogger(settings.logLevel)): Promise<RunningDetector> {
  let rules = loadRulesFile(settings.rulesFile);
  const catalogue = loadCatalogue();
  const topics = topicNames(settings.topicPrefix);
  const metrics = createMetrics({ defaultMetrics: true });
  const kafka = new Kafka({
    clientId: `ree-sentinel-${process.pid}`,
    brokers: settings.kafkaBrokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { retries: 8 },
  });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopics(admin, topicSpecs(settings.topicPrefix, { partitions: settings.topicPartitions, replicationFactor: settings.topicReplication }));

  const registry = settings.schemaRegistryUrl === 'none' ? undefined : new SchemaRegistry({ host: settings.schemaRegistryUrl });
  let encoder: Encoder | undefined;
  if (registry) {
    encoder = createEncoder({ registry, topicNames: topics });
    await encoder.registerSchemas();
  }
  const decoder = createDecoder(registry ? { registry } : {});

  const redis = new Redis(settings.redisUrl, { maxRetriesPerRequest: 3, enableAutoPipelining: false, lazyConnect: true });
  await redis.connect();
  const store = createRedisStore({ redis, prefix: settings.statePrefix });
  const pipeline = createPipeline({ store, rules, catalogue });

  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
  await producer.connect();
  const alerts = createKafkaAlertSink({ producer, topic: topics.alerts, format: settings.alertFormat, encoder });
  const deadLetters = createKafkaDeadLetterSink({ producer, topic: topics.deadletter });

  let fatal = false;
  let onFatal: (err: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => {
    onFatal = (err) => {
      fatal = true;
      resolve(err);
    };
  });

  const licenceConsumer = createLicenceConsumer({
    kafka,
    admin,
    groupId: `${settings.groupId}.licences`,
    topic: topics.licences,
    decoder,
    store,
    deadLetters,
    metrics,
    logger,
    onFatal,
  });
  const watchlistConsumer = createWatchlistConsumer({
    kafka,
    admin,
    groupId: `${settings.groupId}.watchlist`,
    topic: topics.watchlist,
    decoder,
    pipeline,
    alerts,
    deadLetters,
    metrics,
    logger,
    onFatal,
  });
  const reportConsumer = createReportConsumer({
    kafka,
    groupId: settings.groupId,
    topics,
    concurrency: settings.concurrency,
    decoder,
    pipeline,
    alerts,
    deadLetters,
    metrics,
    logger,
    onFatal,
  });

  let licencesLoaded = false;
  const ready = () => !fatal && licencesLoaded && reportConsumer.running();
  const ops = settings.httpPort === 0 ? null : await startOpsServer({ port: settings.httpPort, registry: metrics.registry, ready });

  await licenceConsumer.start();
  await watchlistConsumer.start();
  if (!(await licenceConsumer.caughtUp(60_000))) logger.warn('licence register not fully loaded after 60 s; starting anyway');
  if (!(await watchlistConsumer.caughtUp(60_000))) logger.warn('watchlist not fully loaded after 60 s; starting anyway');
  licencesLoaded = true;
  await reportConsumer.start();
  logger.info({ brokers: settings.kafkaBrokers, prefix: settings.topicPrefix, group: settings.groupId, rules: rules.source, http: ops?.port ?? 'off' }, 'detector running');

  const reload = () => {
    try {
      rules = loadRulesFile(settings.rulesFile);
      pipeline.setRules(rules);
      logger.info({ rules: rules.source }, 'rules reloaded');
    } catch (err) {
      // A bad file never replaces good rules: the running set stays as it was.
      logger.error({ err: errorMessage(err) }, 'rules file refused; keeping the running rules');
    }
  };
  const onHup = () => reload();
  process.on('SIGHUP', onHup);
  let debounce: NodeJS.Timeout | undefined;
  const watcher = settings.rulesFile
    ? watch(settings.rulesFile, () => {
        clearTimeout(debounce);
        debounce = setTimeout(reload, 200);
      })
    : undefined;

  return {
    settings,
    httpPort: ops?.port ?? null,
    ready,
    rules: () => pipeline.rules(),
    failed,
    async stop() {
      process.off('SIGHUP', onHup);
      watcher?.close();
      clearTimeout(debounce);
      await reportConsumer.stop();
      await licenceConsumer.stop();
      await watchlistConsumer.stop();
      await producer.disconnect();
      await admin.disconnect();
      await store.close();
      await ops?.close();
    },
  };
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, RUN_OPTIONS, RUN_USAGE);
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  const settings = loadSettings(process.env, values as Record<string, string | undefined>);
  const logger = createLogger(settings.logLevel);
  const detector = await startDetector(settings, logger);
  const ending = await new Promise<{ signal: string } | { error: unknown }>((resolve) => {
    const shutdown = (signal: string) => {
      logger.info({ signal }, 'stopping: finishing the batch in flight');
      resolve({ signal });
    };
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    process.once('SIGINT', () => shutdown('SIGINT'));
    void detector.failed.then((error) => resolve({ error }));
  });
  if ('error' in ending) {
    // Staying up would only look alive: nothing is consumed any more. A supervisor's restart
    // rejoins the group and resumes from the committed offsets.
    logger.fatal({ err: ending.error }, 'a Kafka consumer stopped for good; exiting so the detector can be restarted');
    await detector.stop().catch((err: unknown) => logger.warn({ err }, 'shutdown after the failure was not clean'));
    return 1;
  }
  await detector.stop();
  logger.info('stopped');
  return 0;
}
