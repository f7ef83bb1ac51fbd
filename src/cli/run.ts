/**
 * `ree-sentinel run`: the live detector. Creates its topics, loads licences, consumes reports,
 * keeps state in Redis, publishes alerts; serves /healthz, /readyz, /metrics; reloads the rules
 * file on change or SIGHUP without a restart; finishes the batch in flight on SIGTERM/SIGINT.
 */
import { createDecoder } from '../codec/decode.ts';
import { createEncoder, type Encoder } from '../codec/encode.ts';
import { createRegistryClient } from '../codec/registry-client.ts';
import { loadRulesFile, type RuleSet } from '../config/rules-file.ts';
import { createRulesReloader, type RulesReloader } from '../config/rules-reloader.ts';
import { watchRulesFile } from '../config/rules-watcher.ts';
import { helpLine, loadSettings, SETTING_SOURCES, settingName, settingsHelp, type Settings } from '../config/settings.ts';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs } from '../config/topics.ts';
import { createLicenceConsumer } from '../consumers/licence-consumer.ts';
import { createQuotaConsumer } from '../consumers/quota-consumer.ts';
import { createReportConsumer } from '../consumers/report-consumer.ts';
import { createWatchlistConsumer } from '../consumers/watchlist-consumer.ts';
import { createOtherPathHolds } from '../consumers/other-path-holds.ts';
import { createRedisTxnJournal } from '../consumers/txn-journal.ts';
import { createRedisIndexOwners } from '../consumers/index-owners.ts';
import { loadCatalogue, type Catalogue } from '../domain/catalogue.ts';
import { ConfigError, ReeError, errorMessage } from '../errors.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { createKafkaClient, muteKafkaLogs } from '../kafka/client.ts';
import { startBrokerProbe } from '../kafka/broker-probe.ts';
import { startOpsServer } from '../ops/http.ts';
import { createLogger, silenceAll, type Logger } from '../ops/logger.ts';
import { createMetrics } from '../ops/metrics.ts';
import { createResources, reach, type Resources } from '../ops/resources.ts';
import { createPipeline } from '../pipeline/pipeline.ts';
import { createKafkaAlertSink } from '../producers/alert-sink.ts';
import { createKafkaDeadLetterSink } from '../producers/dead-letter-sink.ts';
import { createOutputTransactions } from '../producers/output-transactions.ts';
import { CommittedOffsets } from '../pipeline/committed-offsets.ts';
import { createRedisCustodyLedger } from '../state/redis-custody-ledger.ts';
import { createEngineRedisStore } from '../state/engine-store.ts';
import { createRedisClient } from '../state/redis-client.ts';
import { closeRedis } from '../state/redis-connection.ts';
import { createRedisQuotaRegister } from '../state/redis-quota-register.ts';
import { createRedisTimerIndex } from '../state/redis-timer-index.ts';
import { createRedisWatermark } from '../state/redis-watermark.ts';
import { parseCommandArgs, type Options } from './args.ts';
import { shownUrl } from '../config/shown-url.ts';
import { createRenewingProducer } from '../kafka/renewing-producer.ts';

export const RUN_USAGE = `Usage: ree-sentinel run [options]

Runs the live detector: reads <prefix>.production/shipments/receipts/inventory.v1,
<prefix>.licences.v1, <prefix>.watchlist.v1 and <prefix>.quotas.v1, keeps per-producer balances in Redis, writes alerts to <prefix>.alerts.v1
and bad records to <prefix>.deadletter.v1. Every option also reads from its environment variable.

Options (flag, environment variable, meaning):
${settingsHelp()}
${helpLine('-h, --help', '', 'this help')}`;

/**
 * Every setting's flag, taken from the settings themselves as the help is: a hand-kept list had
 * left out --commit-interval, which the help and the README offered and parsing refused.
 */
export const RUN_OPTIONS: Options = Object.fromEntries(Object.values(SETTING_SOURCES).map(({ flag }) => [flag, { type: 'string' as const }]));

export interface RunningDetector {
  settings: Settings;
  httpPort: number | null;
  ready(): boolean;
  /** What keeps the detector from being ready (what /readyz says); empty when it is. */
  notReady(): string[];
  /** The rules in force (another object once the rules file has been reloaded). */
  rules(): RuleSet;
  /**
   * Resolves with the error when a consumer has stopped for good (kafkajs will not restart it).
   * The detector is then no longer ready, and the process should exit so a supervisor restarts it.
   */
  failed: Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * How long start-up waits for each service. A supervisor restarts a detector that gave up; one that
 * waits forever looks alive and does nothing.
 */
const REACH_TIMEOUT_MS = 12_000;

/**
 * Starts the detector; used by the CLI and by integration tests that need a real instance. If any
 * step fails, everything already opened is closed before the error is thrown, so the caller can exit.
 */
export async function startDetector(settings: Settings, logger: Logger = createLogger(settings.logLevel)): Promise<RunningDetector> {
  if (settings.alertFormat === 'avro' && settings.schemaRegistryUrl === 'none') {
    throw new ConfigError(`Avro alerts need a schema registry: set ${settingName('schemaRegistryUrl')}, or ${settingName('alertFormat')} to json`);
  }
  const resources = closesLogged(createResources(), logger);
  // Listening before the file is first read: a save in between is then a (harmless) second reload.
  const reloader = createRulesReloader(settings.rulesFile, logger);
  const onHup = () => reloader.reload();
  process.on('SIGHUP', onHup);
  resources.opened('SIGHUP handler', () => process.off('SIGHUP', onHup));
  try {
    if (settings.rulesFile) {
      const watcher = watchRulesFile(settings.rulesFile, reloader.reload, { onError: (err) => logger.warn({ err: errorMessage(err) }, 'cannot watch the rules file; SIGHUP still reloads it') });
      resources.opened('rules watcher', () => watcher.close());
    }
    const rules = loadRulesFile(settings.rulesFile);
    const catalogue = loadCatalogue();
    return await openDetector(settings, logger, resources, rules, catalogue, reloader);
  } catch (err) {
    const unclosed = await resources.closeAll(5_000);
    if (unclosed.length > 0) logger.warn({ unclosed }, 'start-up failed and not everything closed cleanly');
    throw err;
  }
}

/** A close that takes this long is logged at info: the stop is waiting on it. */
const SLOW_CLOSE_MS = 1_000;

/**
 * Resources whose every close is logged with how long it took: a stop that took seconds printed
 * nothing between "stopping" and "stopped", and the slow step could not be told from the logs.
 */
function closesLogged(resources: Resources, logger: Logger): Resources {
  return {
    opened: (name, close) => resources.opened(name, () => loggedClose(logger, name, close)),
    closeAll: (timeoutMs) => resources.closeAll(timeoutMs),
  };
}

/** Runs one close and logs it: debug for a quick one, info for a slow one. */
async function loggedClose(logger: Logger, name: string, close: () => Promise<unknown> | unknown): Promise<unknown> {
  const started = performance.now();
  try {
    return await close();
  } finally {
    const ms = Math.round(performance.now() - started);
    if (ms >= SLOW_CLOSE_MS) logger.info({ step: name, ms }, `closed: ${name}`);
    else logger.debug({ step: name, ms }, `closed: ${name}`);
  }
}

async function openDetector(
  settings: Settings,
  logger: Logger,
  resources: Resources,
  initialRules: RuleSet,
  catalogue: Catalogue,
  reloader: RulesReloader,
): Promise<RunningDetector> {
  const topics = topicNames(settings.topicPrefix);
  const metrics = createMetrics({ defaultMetrics: true });
  const kafkaService = { what: 'Kafka', where: settings.kafkaBrokers.join(','), setting: settingName('kafkaBrokers') };

  const state = { fatal: false, licencesLoaded: false, started: false };
  let redisStatus = () => 'wait';
  let brokersReachable = () => true;
  let reportConsumerRunning = () => false;
  const notReady = (): string[] =>
    readinessProblems({
      ...state,
      registry: settings.schemaRegistryUrl !== 'none',
      redisStatus: redisStatus(),
      brokersReachable: brokersReachable(),
      reportConsumerRunning: reportConsumerRunning(),
    });

  // First, so a taken port fails before anything connects, and a supervisor sees the process alive
  // (but not ready) while it reaches its services.
  const ops =
    settings.httpPort === 0 ? null : await startOpsServer({ port: settings.httpPort, registry: metrics.registry, notReady, portSetting: settingName('httpPort') });
  if (ops) resources.opened('ops server', () => ops.close());

  const kafka = createKafkaClient(settings, logger, `ree-sentinel-${process.pid}`);
  // Closed last (resources close newest first): after it, kafkajs's retries of an abandoned
  // connection log nothing after the line that says why the detector stopped.
  resources.opened('Kafka log lines', () => muteKafkaLogs(kafka));
  const admin = kafka.admin();
  resources.opened('Kafka admin', () => admin.disconnect());
  await reach(kafkaService, REACH_TIMEOUT_MS, async () => {
    await admin.connect();
    await ensureTopics(admin, topicSpecs(settings.topicPrefix, { partitions: settings.topicPartitions, replicationFactor: settings.topicReplication }));
  });
  const probe = await reach(kafkaService, REACH_TIMEOUT_MS, () => startBrokerProbe(kafka));
  resources.opened('broker probe', () => probe.stop());
  brokersReachable = probe.reachable;

  const registry = settings.schemaRegistryUrl === 'none' ? undefined : createRegistryClient(settings.schemaRegistryUrl);
  let encoder: Encoder | undefined;
  if (registry) {
    const withRegistry = createEncoder({ registry, topicNames: topics });
    await reach({ what: 'the schema registry', where: shownUrl(settings.schemaRegistryUrl), setting: settingName('schemaRegistryUrl') }, REACH_TIMEOUT_MS, () =>
      withRegistry.registerSchemas(),
    );
    encoder = withRegistry;
  }
  const decoder = createDecoder(registry ? { registry } : {});

  const redis = createRedisClient(settings.redisUrl, logger);
  // closeRedis: not once the store has quit it, as ioredis would then hold the process 2 s.
  resources.opened('Redis', () => closeRedis(redis));
  redisStatus = () => redis.status;
  await reach({ what: 'Redis', where: shownUrl(settings.redisUrl), setting: settingName('redisUrl') }, REACH_TIMEOUT_MS, () => redis.connect());
  // The state engine: the balance book and every rule's own state in memory, saved to Redis after
  // each batch under this instance's ownership epoch.
  const store = createEngineRedisStore({ redis, prefix: settings.statePrefix });
  resources.opened('state store', () => store.close());
  // Shares the store's client (it never closes it); the quota rule reads it through the pipeline.
  const quotas = createRedisQuotaRegister({ redis, prefix: settings.statePrefix });
  // Report batches' output goes out in Kafka transactions that also commit their offsets; what the
  // group has committed tells the outboxes what has gone out (src/producers/output-transactions.ts).
  const committed = new CommittedOffsets();
  // Kept here as well: loaded on assignment, and refreshed before idle partitions' timer passes.
  const watermark = createRedisWatermark({ redis, prefix: settings.statePrefix, allowedLatenessMs: settings.allowedLatenessMs });
  const timerIndex = createRedisTimerIndex({ redis, prefix: settings.statePrefix });
  // What each path's transactions send, held until marked published (src/consumers/txn-journal.ts);
  // each path also asks the other's before publishing a watchlist-match (other-path-holds.ts).
  const watchlistGroup = `${settings.groupId}.watchlist`;
  const journals = {
    reports: createRedisTxnJournal({ redis, prefix: settings.statePrefix, kind: 'reports', groupId: settings.groupId }),
    watchlist: createRedisTxnJournal({ redis, prefix: settings.statePrefix, kind: 'watchlist', groupId: watchlistGroup }),
  };
  const otherPathHolds = createOtherPathHolds({
    admin,
    journals,
    topics: { reports: REPORT_TOPIC_KINDS.map((k) => topics[k]), watchlist: topics.watchlist },
    watchlistGroupId: watchlistGroup,
    onRefreshError: (err) => logger.warn({ err: errorMessage(err) }, 'could not read the topics\' partitions again; the journals of the partitions known are read'),
  });
  await reach(kafkaService, REACH_TIMEOUT_MS, () => otherPathHolds.refresh());
  const pipeline = createPipeline({
    committed,
    store,
    rules: initialRules,
    catalogue,
    watermark,
    timerIndex,
    // Shared by every instance: a transfer's two sides, and the quotas the quota consumer loads.
    custody: createRedisCustodyLedger({ redis, prefix: settings.statePrefix }),
    quotas,
    heldByOtherPath: otherPathHolds.heldByOtherPath,
    // A watchlist claim whose transaction its partition's journal no longer holds has lost its holder.
    claimStillHeld: async (holder) => holder.partition !== undefined && (await journals.watchlist.held(holder.partition)).has(holder.txn),
    ownershipEpoch: () => store.durability.epoch(),
  });
  reloader.attach(pipeline);

  const producer = createRenewingProducer(kafka, { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }, (err) =>
    logger.warn({ err: errorMessage(err) }, 'a send of the plain Kafka producer failed; the next send goes through a new producer, so that it is not taken for the failed one'),
  );
  resources.opened('Kafka producer', () => producer.disconnect());
  await reach(kafkaService, REACH_TIMEOUT_MS, () => producer.connect());
  const alerts = createKafkaAlertSink({ producer, topic: topics.alerts, format: settings.alertFormat, encoder });
  const deadLetters = createKafkaDeadLetterSink({ producer, topic: topics.deadletter });
  const indexOwners = createRedisIndexOwners({ redis, prefix: settings.statePrefix, groupId: settings.groupId });
  const transactions = createOutputTransactions({
    kafka,
    groupId: settings.groupId,
    committed,
    logger,
    // Every assignment, of any instance, takes a new epoch and records it as the owner of each
    // index it got before its producers open (onAssigned below): the record still at this
    // instance's epoch means nobody has taken the index from it since.
    stillOwns: async (partition) => indexOwners.owns(partition, await store.durability.epoch()),
  });
  resources.opened('transactional producers', () => transactions.close());
  const transactional = {
    transactions,
    journal: journals.reports,
    sinks: (sender: Parameters<typeof createKafkaAlertSink>[0]['producer']) => ({
      alerts: createKafkaAlertSink({ producer: sender, topic: topics.alerts, format: settings.alertFormat, encoder }),
      deadLetters: createKafkaDeadLetterSink({ producer: sender, topic: topics.deadletter }),
    }),
  };

  let onFatal: (err: unknown) => void = () => undefined;
  const failed = new Promise<unknown>((resolve) => {
    onFatal = (err) => {
      state.fatal = true;
      resolve(err);
    };
  });

  // What every consumer of the detector is built with.
  const consumerBase = { kafka, decoder, deadLetters, metrics, logger, onFatal, sessionTimeoutMs: settings.sessionTimeoutMs };
  const licenceConsumer = createLicenceConsumer({ ...consumerBase, admin, groupId: `${settings.groupId}.licences`, topic: topics.licences, store });
  const quotaConsumer = createQuotaConsumer({ ...consumerBase, admin, groupId: `${settings.groupId}.quotas`, topic: topics.quotas, quotas });
  // Its alerts go out in transactions of its own that also commit its offsets (watchlist-consumer.ts).
  const watchlistConsumer = createWatchlistConsumer({
    ...consumerBase,
    admin,
    groupId: watchlistGroup,
    topic: topics.watchlist,
    pipeline,
    alerts,
    transactional: { journal: journals.watchlist, sinks: transactional.sinks },
  });
  /** The watermark at the last look for idle partitions' due timers. */
  let idleCheckedAt: number | undefined;
  const reportConsumer = createReportConsumer({
    ...consumerBase,
    groupId: settings.groupId,
    topics,
    concurrency: settings.concurrency,
    commitIntervalMs: settings.commitIntervalMs,
    pipeline,
    alerts,
    transactional,
    // Fencing on assignment: a new epoch, and nothing kept from before (the interim owner may have written since).
    // The shared watermark too, so the first batch's rules see the group's, not -Infinity.
    onAssigned: async (partitions) => {
      await indexOwners.claim(partitions, await store.durability.renewEpoch());
      store.engine.dropAll();
      await watermark.load();
      // Not awaited: a partition added to a topic is rare, and the join's path is kept short.
      otherPathHolds.refreshInBackground();
      idleCheckedAt = undefined;
    },
    // Owned partitions with something due, looked up only when the watermark has moved since the
    // last look (or after an assignment, which may bring an index with unsent outbox entries).
    idleTimersDue: async (partitions, again, known) => {
      const at = known ?? (await watermark.load());
      if (at === idleCheckedAt && !again) return [];
      idleCheckedAt = at;
      const due = await timerIndex.dueIn(partitions, at);
      return partitions.filter((p) => (due.get(p)?.length ?? 0) > 0);
    },
  });
  reportConsumerRunning = reportConsumer.running;
  state.started = true;

  // No deadline on joining the groups: the brokers have answered, and a join legitimately waits
  // for the session of a member that died without leaving to run out. Meanwhile /readyz says so.
  // Stopped together, each one that was started: a disconnect waits for the consumer's fetch
  // in flight (REFERENCE_FETCH_WAIT_MS on an idle topic), and one after another the waits added up.
  const referenceConsumers: { name: string; stop: () => Promise<void> }[] = [];
  resources.opened('reference consumers', async () => {
    // Settled, not Promise.all: the stop would go on to close what the others still use at the first failure.
    const stops = await Promise.allSettled(referenceConsumers.map(({ name, stop }) => loggedClose(logger, name, stop)));
    const failed = stops.flatMap((s, i) => (s.status === 'rejected' ? [`${referenceConsumers[i]!.name}: ${errorMessage(s.reason)}`] : []));
    if (failed.length > 0) throw new Error(`could not stop ${failed.join('; ')}`);
  });
  for (const [name, consumer] of [
    ['licence consumer', licenceConsumer],
    ['watchlist consumer', watchlistConsumer],
    ['quota consumer', quotaConsumer],
  ] as const) {
    referenceConsumers.push({ name, stop: () => consumer.stop() });
    await consumer.start();
  }
  if (!(await licenceConsumer.caughtUp(60_000))) logger.warn('licence register not fully loaded after 60 s; starting anyway');
  if (!(await watchlistConsumer.caughtUp(60_000))) logger.warn('watchlist not fully loaded after 60 s; starting anyway');
  if (!(await quotaConsumer.caughtUp(60_000))) logger.warn('production quotas not fully loaded after 60 s; starting anyway');
  state.licencesLoaded = true;
  resources.opened('report consumer', () => reportConsumer.stop());
  await reportConsumer.start();

  // Every service and namespace the instance uses, so an operator sees from the first lines which
  // Redis keys and topics it reads and writes (two instances meant to share state must agree).
  logger.info(
    {
      brokers: settings.kafkaBrokers,
      prefix: settings.topicPrefix,
      group: settings.groupId,
      registry: shownUrl(settings.schemaRegistryUrl),
      alertFormat: settings.alertFormat,
      redis: shownUrl(settings.redisUrl),
      statePrefix: settings.statePrefix,
      concurrency: settings.concurrency,
      rules: initialRules.source,
      http: ops?.port ?? 'off',
    },
    'detector running',
  );

  return {
    settings,
    httpPort: ops?.port ?? null,
    ready: () => notReady().length === 0,
    notReady,
    rules: () => pipeline.rules(),
    failed,
    async stop() {
      const unclosed = await resources.closeAll();
      if (unclosed.length > 0) logger.warn({ unclosed }, 'not everything closed cleanly');
    },
  };
}

export async function runCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, RUN_OPTIONS, RUN_USAGE);
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  // Until the settings are read there is no log level; a refusal of them is logged all the same.
  let logger = createLogger('info');
  try {
    const settings = loadSettings(process.env, values as Record<string, string | undefined>);
    logger = createLogger(settings.logLevel);
    return await runUntilStopped(await startDetector(settings, logger), logger);
  } catch (err) {
    // One JSON line like every other, naming what to fix; the exit lets a supervisor restart us.
    // It stays the last line: nothing logs after it (a client library still retrying a connection
    // that start-up gave up on would otherwise add its errors below it before the process exits).
    if (err instanceof ReeError) {
      logger.fatal({ code: err.code }, `ree-sentinel run: ${err.message} [${err.code}]`);
      silenceAll(logger);
      return 2;
    }
    logger.fatal({ err }, `ree-sentinel run: ${errorMessage(err)}`);
    silenceAll(logger);
    return 1;
  }
}

async function runUntilStopped(detector: RunningDetector, logger: Logger): Promise<number> {
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
    await detector.stop();
    return 1;
  }
  await detector.stop();
  logger.info('stopped');
  return 0;
}

/** What /readyz is told about: the start-up's progress and the services' state. */
export interface ReadinessView {
  fatal: boolean;
  /** Every service reached and every consumer built (the groups are joined after). */
  started: boolean;
  /** The licence register, watchlist and quotas read to their end. */
  licencesLoaded: boolean;
  /** Whether start-up registers schemas (a schema registry is configured). */
  registry: boolean;
  /** ioredis's status; 'wait' until start-up first connects. */
  redisStatus: string;
  brokersReachable: boolean;
  reportConsumerRunning: boolean;
}

/**
 * Why the detector is not ready (what /readyz says after "not ready: "); empty when it is. During
 * start-up it names what is being waited for, in start-up's order: Kafka and the registry, then
 * Redis (not blamed before it has been tried, nor while its first connection is being made), then
 * the rest of Kafka, then the reference topics, then the report consumer's group.
 */
export function readinessProblems(view: ReadinessView): string[] {
  const redis = view.redisStatus;
  const redisNotTried = redis === 'wait';
  const redisConnecting = !view.started && (redis === 'connecting' || redis === 'connect');
  let starting: string | false = false;
  if (!view.started) {
    if (redisNotTried) starting = view.registry ? 'starting: reaching Kafka and the schema registry' : 'starting: reaching Kafka';
    else if (redis === 'ready') starting = 'starting: reaching Kafka';
  }
  return [
    view.fatal && 'a Kafka consumer stopped for good',
    starting,
    view.started && !view.brokersReachable && 'Kafka brokers unreachable',
    redisConnecting && 'connecting to Redis',
    !redisNotTried && !redisConnecting && redis !== 'ready' && 'Redis unreachable',
    view.started && !view.licencesLoaded && 'loading the licence register, watchlist and quotas',
    // Not asked to join before the reference topics are loaded: saying so then would mislead.
    view.started && view.licencesLoaded && !view.reportConsumerRunning && 'report consumer not in its group',
  ].filter((reason): reason is string => typeof reason === 'string');
}
