/**
 * Starts a console: makes sure the status topic exists, starts following the alerts and status
 * topics, then serves the page and API. If any step fails, what was opened is closed again.
 */
import { createRegistryClient } from '../codec/registry-client.ts';
import { createDecoder } from '../codec/decode.ts';
import { settingName, type Settings } from '../config/settings.ts';
import { REPORT_TOPIC_KINDS, alertStatusTopicSpec, topicNames, topicSpecs } from '../config/topics.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { createKafkaClient } from '../kafka/client.ts';
import type { Logger } from '../ops/logger.ts';
import { createResources, reach } from '../ops/resources.ts';
import { createAlertFeed } from './alert-feed.ts';
import { createAlertIndex, type AlertIndex } from './alert-index.ts';
import { createReportCatalogue } from './report-catalogue.ts';
import { buildConsoleServer, listen } from './server.ts';
import type { ConsoleSettings } from './settings.ts';
import { createStatusLog } from './status-log.ts';

export interface RunningConsole {
  port: number;
  url: string;
  index: AlertIndex;
  /** Resolves with the error when the feed has stopped for good. */
  failed: Promise<unknown>;
  stop(): Promise<void>;
}

const REACH_TIMEOUT_MS = 12_000;

export async function startConsole(settings: Settings, consoleSettings: ConsoleSettings, logger: Logger): Promise<RunningConsole> {
  const resources = createResources();
  try {
    const topics = topicNames(settings.topicPrefix);
    const layout = { partitions: settings.topicPartitions, replicationFactor: settings.topicReplication };
    const statusSpec = alertStatusTopicSpec(settings.topicPrefix, layout);
    // A console may also start before the first detector: it creates the topics it reads as run would.
    const readSpecs = topicSpecs(settings.topicPrefix, layout).filter((spec) => spec.topic === topics.alerts || REPORT_TOPIC_KINDS.some((kind) => topics[kind] === spec.topic));
    const kafkaService = { what: 'Kafka', where: settings.kafkaBrokers.join(','), setting: settingName('kafkaBrokers') };
    const kafka = createKafkaClient(settings, logger, `ree-sentinel-console-${process.pid}`);
    const admin = kafka.admin();
    resources.opened('Kafka admin', () => admin.disconnect());
    await reach(kafkaService, REACH_TIMEOUT_MS, async () => {
      await admin.connect();
      await ensureTopics(admin, [...readSpecs, statusSpec]);
    });

    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false });
    resources.opened('Kafka producer', () => producer.disconnect());
    await reach(kafkaService, REACH_TIMEOUT_MS, () => producer.connect());

    const registry = settings.schemaRegistryUrl === 'none' ? undefined : createRegistryClient(settings.schemaRegistryUrl);
    const index = createAlertIndex();
    let onFatal: (err: unknown) => void = () => undefined;
    const failed = new Promise<unknown>((resolve) => {
      onFatal = resolve;
    });
    const reports = createReportCatalogue();
    const feed = createAlertFeed({
      kafka,
      groupIdPrefix: `${settings.groupId}.console`,
      alertsTopic: topics.alerts,
      statusTopic: statusSpec.topic,
      reportTopics: new Map(REPORT_TOPIC_KINDS.map((kind) => [topics[kind], kind])),
      reports,
      decoder: createDecoder(registry ? { registry } : {}),
      index,
      logger,
      sessionTimeoutMs: settings.sessionTimeoutMs,
      onFatal,
    });
    resources.opened('alert feed', () => feed.stop());
    await reach(kafkaService, REACH_TIMEOUT_MS, () => feed.start());

    const app = buildConsoleServer({ index, reports, feed, statusLog: createStatusLog({ producer, topic: statusSpec.topic }), token: consoleSettings.token });
    resources.opened('web server', () => app.close());
    const port = await listen(app, consoleSettings.host, consoleSettings.port);
    const url = `http://${consoleSettings.host.includes(':') ? `[${consoleSettings.host}]` : consoleSettings.host}:${port}/`;
    logger.info({ url, alerts: topics.alerts, status: statusSpec.topic }, 'console serving');
    return {
      port,
      url,
      index,
      failed,
      async stop() {
        const unclosed = await resources.closeAll();
        if (unclosed.length > 0) logger.warn({ unclosed }, 'not everything closed cleanly');
      },
    };
  } catch (err) {
    await resources.closeAll(5_000);
    throw err;
  }
}
