/**
 * A single-node Kafka in KRaft mode (one process is both broker and controller), run from the
 * jars Maven resolved. Configuration is rewritten on every start so it always follows the settings;
 * storage is formatted once and kept, so topics and offsets survive a down/up.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { findJava, runChecked, spawnDetached } from './process.ts';
import type { StackSettings } from './settings.ts';

export const KAFKA_MAIN_CLASS = 'kafka.Kafka';

export function kafkaPaths(settings: StackSettings) {
  const dir = settings.kafka.dir;
  return {
    serverProperties: join(dir, 'server.properties'),
    log4jConfig: join(dir, 'log4j2.properties'),
    logFile: join(settings.logsDir, 'kafka.log'),
    pidFile: join(settings.runDir, 'kafka.pid'),
    formatStamp: join(settings.kafka.dataDir, '.formatted-for'),
  };
}

export function serverProperties(settings: StackSettings): string {
  const { host } = settings;
  const { port, controllerPort, dataDir } = settings.kafka;
  return `# Written by scripts/stack/kafka.ts on every start; edit the settings, not this file.
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=${host}:${controllerPort}
listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}
advertised.listeners=PLAINTEXT://${host}:${port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=${dataDir}

# Topics are part of the contract (see DESIGN.md): a typo in a topic name must fail, not create one.
auto.create.topics.enable=false
num.partitions=1
default.replication.factor=1

# One broker: internal topics cannot have more replicas than that, or groups and transactions stall.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
min.insync.replicas=1

# Tests join many short-lived consumer groups; the default 3 s rebalance delay would dominate them.
group.initial.rebalance.delay.ms=0

# Small segments and short retention keep a developer machine's disk in check.
log.segment.bytes=16777216
log.retention.hours=24
log.retention.check.interval.ms=60000
`;
}

/** Everything to the process's stdout, which up sends to .stack/logs/kafka.log. */
export const LOG4J2_PROPERTIES = `# Written by scripts/stack/kafka.ts.
status = warn
appender.out.type = Console
appender.out.name = out
appender.out.target = SYSTEM_OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = out
# Per-request and state-change chatter would bury what matters in a test run's log.
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.statechange.name = state.change.logger
logger.statechange.level = WARN
logger.controller.name = org.apache.kafka.controller
logger.controller.level = INFO
`;

/** Kafka cluster ids are 16 random bytes in URL-safe base64; one starting with '-' confuses CLIs. */
function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

function classpath(settings: StackSettings): string {
  return `${settings.kafka.libsDir}/*`;
}

/**
 * Formats storage once. `--standalone` records this node as the only KRaft voter together with the
 * controller endpoint, so a changed controller port means the stored quorum no longer matches and
 * the (throwaway) data is formatted afresh.
 */
export function formatStorage(settings: StackSettings, java: string): 'formatted' | 'kept' {
  const paths = kafkaPaths(settings);
  const expected = `${settings.host}:${settings.kafka.controllerPort}`;
  const metaProperties = join(settings.kafka.dataDir, 'meta.properties');
  if (existsSync(metaProperties)) {
    const stamp = existsSync(paths.formatStamp) ? readFileSync(paths.formatStamp, 'utf8').trim() : '';
    if (stamp === expected) return 'kept';
    rmSync(settings.kafka.dataDir, { recursive: true, force: true });
  }
  mkdirSync(settings.kafka.dataDir, { recursive: true });
  runChecked(
    java,
    [
      '-cp',
      classpath(settings),
      `-Dlog4j2.configurationFile=${paths.log4jConfig}`,
      'kafka.tools.StorageTool',
      'format',
      '--standalone',
      '--cluster-id',
      newClusterId(),
      '--config',
      paths.serverProperties,
    ],
    settings.kafka.dir,
    'Formatting Kafka storage',
  );
  writeFileSync(paths.formatStamp, `${expected}\n`);
  return 'formatted';
}

export interface Started {
  pid: number;
  match: string;
  logFile: string;
}

export function startKafka(settings: StackSettings): Started {
  const paths = kafkaPaths(settings);
  const java = findJava(settings.kafka.minJava, settings.kafka.java, `Kafka ${settings.kafka.version}`);
  mkdirSync(settings.kafka.dir, { recursive: true });
  writeFileSync(paths.serverProperties, serverProperties(settings));
  writeFileSync(paths.log4jConfig, LOG4J2_PROPERTIES);
  formatStorage(settings, java);
  const pid = spawnDetached(
    java,
    [
      `-Xmx${settings.kafka.heap}`,
      '-Xms256m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      `-Dlog4j2.configurationFile=${paths.log4jConfig}`,
      `-Dkafka.logs.dir=${settings.logsDir}`,
      '-cp',
      classpath(settings),
      KAFKA_MAIN_CLASS,
      paths.serverProperties,
    ],
    { cwd: settings.kafka.dir, logFile: paths.logFile },
  );
  // The properties path is unique to this stack dir, so it tells our broker from any other.
  return { pid, match: paths.serverProperties, logFile: paths.logFile };
}

/** Ready means a real client can fetch metadata, not just that the port accepts connections. */
export async function kafkaAnswers(brokers: string, timeoutMs = 3000): Promise<boolean> {
  const kafka = new Kafka({
    clientId: 'ree-stack-probe',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 1000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.listTopics();
    return true;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
