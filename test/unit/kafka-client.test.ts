/**
 * The detector's kafkajs client: kafkajs's log lines become the detector's JSON lines, until the
 * client is muted once everything it served is closed (a failed start-up's last line must stay the
 * one that says what to fix); a broker's reply with an error kafkajs retries is a warning.
 */
import { Kafka, Partitioners } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { createKafkaClient, muteKafkaLogs, quietKafkaClient } from '../../src/kafka/client.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';

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

  it('logs a broker reply whose error kafkajs retries as a warning named by its type, other replies as errors', async () => {
    const { logger, lines } = capturingLogger();
    const kafka = createKafkaClient({ kafkaBrokers: ['127.0.0.1:1'] }, logger, 'test');
    const loading = "The coordinator is loading and hence can't process requests for this group";
    const concurrent = 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing';
    kafka.logger().error('Response InitProducerId(key: 22, version: 1)', { error: loading, correlationId: 7 });
    kafka.logger().error('Response AddOffsetsToTxn(key: 25, version: 0)', { error: concurrent });
    kafka.logger().error('Response InitProducerId(key: 22, version: 1)', { error: 'Transactional Id authorization failed' });
    // The same text outside a broker's reply is kafkajs giving up, not a reply it retries.
    kafka.logger().error('Crash', { error: loading });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.errorType])).toEqual([
      [40, 'kafka: Response InitProducerId(key: 22, version: 1) (retried)', 'GROUP_LOAD_IN_PROGRESS'],
      [40, 'kafka: Response AddOffsetsToTxn(key: 25, version: 0) (retried)', 'CONCURRENT_TRANSACTIONS'],
      [50, 'kafka: Response InitProducerId(key: 22, version: 1)', undefined],
      [50, 'kafka: Crash', undefined],
    ]);
    expect(lines[0]).toMatchObject({ error: loading, correlationId: 7 });
  });

  it('logs a broker reply that the group is rebalancing as a warning: kafkajs rejoins, and scaling out or in brings one to every member', async () => {
    const { logger, lines } = capturingLogger();
    const kafka = createKafkaClient({ kafkaBrokers: ['127.0.0.1:1'] }, logger, 'test');
    const rebalancing = 'The group is rebalancing, so a rejoin is needed';
    kafka.logger().error('Response Heartbeat(key: 12, version: 3)', { broker: '127.0.0.1:9092', clientId: 'test', error: rebalancing, correlationId: 41, size: 10 });
    kafka.logger().error('Response OffsetCommit(key: 8, version: 5)', { error: rebalancing });
    kafka.logger().error('Response Heartbeat(key: 12, version: 3)', { error: 'Specified group generation id is not valid' });
    kafka.logger().error('Response OffsetCommit(key: 8, version: 5)', { error: 'The coordinator is not aware of this member' });
    // The consumer giving up with that error is not a reply it rejoins on: still an error.
    kafka.logger().error('Crash: KafkaJSProtocolError: The group is rebalancing, so a rejoin is needed', { error: rebalancing });
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.level, l.msg, l.errorType])).toEqual([
      [40, 'kafka: Response Heartbeat(key: 12, version: 3) (rejoining the group)', 'REBALANCE_IN_PROGRESS'],
      [40, 'kafka: Response OffsetCommit(key: 8, version: 5) (rejoining the group)', 'REBALANCE_IN_PROGRESS'],
      [40, 'kafka: Response Heartbeat(key: 12, version: 3) (rejoining the group)', 'ILLEGAL_GENERATION'],
      [40, 'kafka: Response OffsetCommit(key: 8, version: 5) (rejoining the group)', 'UNKNOWN_MEMBER_ID'],
      [50, 'kafka: Crash: KafkaJSProtocolError: The group is rebalancing, so a rejoin is needed', undefined],
    ]);
    expect(lines[0]).toMatchObject({ error: rebalancing, correlationId: 41 });
  });

  it("builds its producers with kafkajs's DefaultPartitioner named (murmur2 by key, the one the topics are written with), so kafkajs does not warn that its default changed", async () => {
    const { logger, lines } = capturingLogger('debug');
    const named = vi.spyOn(Partitioners, 'DefaultPartitioner');
    try {
      const kafka = createKafkaClient({ kafkaBrokers: ['127.0.0.1:1'] }, logger, 'test');
      kafka.producer();
      kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: undefined });
      expect(named).toHaveBeenCalledTimes(2);
      // A partitioner the caller names is kept.
      const own = vi.fn(Partitioners.LegacyPartitioner);
      kafka.producer({ createPartitioner: own });
      expect(own).toHaveBeenCalledTimes(1);
      quietKafkaClient('test', ['127.0.0.1:1']).producer();
      expect(named).toHaveBeenCalledTimes(3);
    } finally {
      named.mockRestore();
    }
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines.filter((l) => String(l.msg).includes('partitioner'))).toEqual([]);
    // The warning was still armed (kafkajs gives it once a process): a bare client's producer gets it.
    const bare: string[] = [];
    new Kafka({ clientId: 'bare', brokers: ['127.0.0.1:1'], logCreator: () => ({ log }) => void bare.push(log.message) }).producer();
    expect(bare.filter((m) => m.includes('switched default partitioner'))).toHaveLength(1);
  });

  it("makes kafkajs's warning that bounded retries may invalidate exactly-once a debug line: a producer with a failed send is reopened (fencing-producers.ts)", async () => {
    const { logger, lines } = capturingLogger('debug');
    const kafka = createKafkaClient({ kafkaBrokers: ['127.0.0.1:1'] }, logger, 'test');
    kafka.producer({ transactionalId: 'g.reports.0', idempotent: true, maxInFlightRequests: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const eos = lines.filter((l) => String(l.msg).includes('EoS'));
    expect(eos.map((l) => [l.level, l.msg])).toEqual([[20, 'kafka: Limiting retries for the idempotent producer may invalidate EoS guarantees']]);
  });
});

describe('the quiet kafkajs client of record, simulate and the benches', () => {
  it("prints kafkajs's errors as JSON lines on stderr, but not the broker replies kafkajs retries", () => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => written.push(String(chunk)) > 0);
    try {
      const kafka = quietKafkaClient('test', ['127.0.0.1:1']);
      kafka.logger().error('Response AddOffsetsToTxn(key: 25, version: 1)', { error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing' });
      kafka.logger().error('Connection error', { broker: '127.0.0.1:1' });
      kafka.logger().warn('Retrying');
    } finally {
      spy.mockRestore();
    }
    expect(written.map((w) => JSON.parse(w) as Record<string, unknown>)).toEqual([expect.objectContaining({ level: 'ERROR', logger: 'kafkajs', message: 'Connection error', broker: '127.0.0.1:1' })]);
  });
});
