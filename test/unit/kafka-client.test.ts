/**
 * The detector's kafkajs client: kafkajs's log lines become the detector's JSON lines, until the
 * client is muted once everything it served is closed (a failed start-up's last line must stay the
 * one that says what to fix).
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createKafkaClient, muteKafkaLogs } from '../../src/kafka/client.ts';

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

describe('the detector’s kafkajs client', () => {
  it('logs kafkajs errors and warnings as its own lines, and nothing once muted', async () => {
    const { logger, lines } = capturingLogger();
    const kafka = createKafkaClient({ kafkaBrokers: ['127.0.0.1:1'] }, logger, 'test');
    kafka.logger().error('Connection error', { broker: '127.0.0.1:1' });
    kafka.logger().warn('Retrying');
    muteKafkaLogs(kafka);
    kafka.logger().error('Connection error again', { broker: '127.0.0.1:1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'kafka: Connection error'],
      [40, 'kafka: Retrying'],
    ]);
    expect(lines[0]).toMatchObject({ broker: '127.0.0.1:1' });
  });
});
