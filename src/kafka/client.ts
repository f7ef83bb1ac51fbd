/**
 * The kafkajs client every long-running command builds the same way: brokers from the settings,
 * kafkajs's own log lines turned into ours (JSON on stderr), and retries that outlast a broker blip.
 */
import { Kafka, logLevel as KafkaLogLevel } from 'kafkajs';
import type { Settings } from '../config/settings.ts';
import type { Logger } from '../ops/logger.ts';

function kafkaLogCreator(logger: Logger) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      const { message, ...extra } = log;
      if (level <= KafkaLogLevel.ERROR) logger.error(extra, `kafka: ${message}`);
      else if (level === KafkaLogLevel.WARN) logger.warn(extra, `kafka: ${message}`);
      else logger.debug(extra, `kafka: ${message}`);
    };
}

export function createKafkaClient(settings: Pick<Settings, 'kafkaBrokers'>, logger: Logger, clientId: string): Kafka {
  return new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger),
    retry: { retries: 8 },
  });
}
