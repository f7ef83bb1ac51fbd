/**
 * The kafkajs client every long-running command builds the same way: brokers from the settings,
 * kafkajs's own log lines turned into ours (JSON on stderr), and retries that outlast a broker blip.
 */
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../ops/logger.ts';

function kafkaLogCreator(logger: Logger, state: { muted: boolean }) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      if (state.muted) return;
      const { message, ...extra } = log;
      if (level <= KafkaLogLevel.ERROR) logger.error(extra, `kafka: ${message}`);
      else if (level === KafkaLogLevel.WARN) logger.warn(extra, `kafka: ${message}`);
      else logger.debug(extra, `kafka: ${message}`);
    };
}

export function createKafkaClient(settings: Pick<Settings, 'kafkaBrokers'>, logger: Logger, clientId: string): Kafka {
  const state = { muted: false };
  const kafka = new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger, state),
    retry: { retries: 8 },
  });
  logStates.set(kafka, state);
  return kafka;
}

const logStates = new WeakMap<Kafka, { muted: boolean }>();

/**
 * Drops the client's log lines from now on, once everything it serves is closed. A connection a
 * failed start-up gave up on is still retried by kafkajs until the process exits, and its errors
 * would otherwise come after the one fatal line that says what to fix.
 */
export function muteKafkaLogs(kafka: Kafka): void {
  const state = logStates.get(kafka);
  if (state) state.muted = true;
}
