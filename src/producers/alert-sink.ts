/**
 * Where alerts go. The live detector publishes to the alerts topic; replay writes JSON lines.
 * A sink resolves only once the alerts are durable, because offsets are committed after it.
 */
import type { Encoder } from '../codec/encode.ts';
import type { Alert } from '../domain/events.ts';
import { sendInChunks, type ChunkLimits, type MessageSender } from '../kafka/send-in-chunks.ts';

export interface AlertSink {
  publish(alerts: Alert[]): Promise<void>;
}

export function createKafkaAlertSink(options: { producer: MessageSender; topic: string; format: 'avro' | 'json'; encoder?: Encoder; chunkLimits?: ChunkLimits }): AlertSink {
  const { producer, topic, format, encoder } = options;
  if (format === 'avro' && !encoder) throw new Error('Avro alerts need a schema registry (or set REE_ALERT_FORMAT=json)');
  return {
    async publish(alerts) {
      if (alerts.length === 0) return;
      const messages = await Promise.all(
        alerts.map(async (alert) => ({
          key: alert.producerId,
          value: format === 'avro' ? await encoder!.encode('alerts', alert) : Buffer.from(JSON.stringify(alert)),
          headers: { alertId: alert.alertId, ruleId: alert.ruleId, severity: alert.severity, 'content-type': format === 'avro' ? 'application/vnd.confluent.avro' : 'application/json' },
        })),
      );
      // acks -1: every in-sync replica has the alert before the batch's offsets are committed.
      await sendInChunks(producer, { topic, messages, acks: -1 }, options.chunkLimits);
    },
  };
}
