import { CompressionTypes, type Message, type Producer, type ProducerRecord } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/domain/events.ts';
import { InvalidRecordError } from '../../src/errors.ts';
import { DEFAULT_CHUNK_LIMITS, chunkMessages, estimatedSize } from '../../src/kafka/send-in-chunks.ts';
import { createKafkaAlertSink } from '../../src/producers/alert-sink.ts';
import { createKafkaDeadLetterSink, type DeadLetter } from '../../src/producers/dead-letter-sink.ts';

/** Records every send; what a broker with a 1 MB message.max.bytes would refuse fails the send. */
function fakeProducer() {
  const sends: ProducerRecord[] = [];
  const producer = {
    async send(record: ProducerRecord) {
      const bytes = record.messages.reduce((sum, m) => sum + estimatedSize(m), 0);
      if (bytes > 1024 * 1024) throw new Error(`MESSAGE_TOO_LARGE: ${bytes} bytes`);
      sends.push(record);
      return [];
    },
  } as unknown as Producer;
  return { producer, sends };
}

const message = (i: number, valueBytes = 100): Message => ({ key: `k${i}`, value: Buffer.alloc(valueBytes, i % 256), headers: { n: String(i) } });

describe('chunkMessages', () => {
  it('keeps every message, in order, in chunks within the byte and count limits', () => {
    const messages = Array.from({ length: 1000 }, (_, i) => message(i, 50 + (i % 7) * 40));
    const limits = { maxBytes: 10_000, maxMessages: 60 };
    const chunks = chunkMessages(messages, limits);
    expect(chunks.flat()).toEqual(messages);
    for (const chunk of chunks) {
      expect(chunk.length).toBeLessThanOrEqual(60);
      expect(chunk.reduce((sum, m) => sum + estimatedSize(m), 0)).toBeLessThanOrEqual(10_000);
    }
    // Full chunks: the next message would not have fit.
    for (let i = 0; i < chunks.length - 1; i += 1) {
      const bytes = chunks[i]!.reduce((sum, m) => sum + estimatedSize(m), 0);
      expect(chunks[i]!.length === 60 || bytes + estimatedSize(chunks[i + 1]![0]!) > 10_000).toBe(true);
    }
  });

  it('gives a message larger than the byte limit a chunk of its own', () => {
    const chunks = chunkMessages([message(1), message(2, 5_000), message(3)], { maxBytes: 1_000, maxMessages: 10 });
    expect(chunks.map((c) => c.map((m) => m.key))).toEqual([['k1'], ['k2'], ['k3']]);
  });

  it('counts keys, values and every header value', () => {
    expect(estimatedSize({ key: 'ab', value: Buffer.alloc(10), headers: { h: ['xy', Buffer.alloc(3)] } })).toBe(32 + 2 + 10 + (8 + 1 + 2) + (8 + 1 + 3));
    expect(estimatedSize({ key: null, value: null })).toBe(32);
  });

  it('returns no chunks for no messages', () => {
    expect(chunkMessages([])).toEqual([]);
  });
});

describe('Kafka sinks with thousands of records for one key', () => {
  it('dead-letters a batch far over the broker limit in compressed sends of at most 512 KB', async () => {
    const { producer, sends } = fakeProducer();
    const sink = createKafkaDeadLetterSink({ producer, topic: 'dl' });
    const letters: DeadLetter[] = Array.from({ length: 8_000 }, (_, i) => ({
      key: Buffer.from('P-1'),
      value: Buffer.from(`not json ${i}`),
      error: new InvalidRecordError('REE_ERR_DECODE', 'value is neither Confluent Avro (magic byte 0) nor a JSON object'),
      topic: 'ree.shipments.v1',
      partition: 3,
      offset: String(i),
    }));
    await sink.send(letters);
    expect(sends.length).toBeGreaterThan(1);
    for (const s of sends) {
      expect(s).toMatchObject({ topic: 'dl', acks: -1, compression: CompressionTypes.GZIP });
      expect(s.messages.reduce((sum, m) => sum + estimatedSize(m), 0)).toBeLessThanOrEqual(DEFAULT_CHUNK_LIMITS.maxBytes);
    }
    expect(sends.flatMap((s) => s.messages.map((m) => m.headers?.['source-offset']))).toEqual(letters.map((l) => l.offset));
  });

  it('publishes thousands of alerts in order across bounded sends', async () => {
    const { producer, sends } = fakeProducer();
    const sink = createKafkaAlertSink({ producer, topic: 'alerts', format: 'json' });
    const alerts = Array.from({ length: 5_000 }, (_, i) => ({
      alertId: `a-${i}`,
      ruleId: 'unlicensed-client',
      ruleVersion: 1,
      severity: 'HIGH',
      score: 0.9,
      producerId: 'P-1',
      subjectEventIds: [`r-${i}`],
      summary: 'An export of controlled material went without a fitting licence.',
      evidence: { reasons: 'no-licence', quantityKg: '10' },
      eventTime: i,
      detectedAt: i,
    })) as Alert[];
    await sink.publish(alerts);
    expect(sends.length).toBeGreaterThan(1);
    expect(sends.flatMap((s) => s.messages.map((m) => m.headers?.alertId))).toEqual(alerts.map((a) => a.alertId));
  });
});
