/**
 * What the consumers do when kafkajs reports a crash: one it restarts from is survivable, one it
 * does not restart from must reach whoever can end the process (readiness alone would stay green).
 */
import type { Admin, Kafka } from 'kafkajs';
import { describe, expect, it, vi } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import { createLicenceConsumer } from '../../src/consumers/licence-consumer.ts';
import { createReportConsumer } from '../../src/consumers/report-consumer.ts';
import { createLogger } from '../../src/ops/logger.ts';

const EVENTS = { GROUP_JOIN: 'consumer.group_join', CRASH: 'consumer.crash', REBALANCING: 'consumer.rebalancing' } as const;

function fakeKafka() {
  const handlers = new Map<string, ((e: { payload: unknown }) => void)[]>();
  const consumer = {
    events: EVENTS,
    on(event: string, handler: (e: { payload: unknown }) => void) {
      handlers.set(event, [...(handlers.get(event) ?? []), handler]);
      return () => undefined;
    },
    connect: async () => undefined,
    subscribe: async () => undefined,
    run: async () => undefined,
    disconnect: async () => undefined,
    paused: () => [],
    resume: () => undefined,
  };
  const admin = {
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchOffsets: async () => [],
    fetchTopicOffsets: async () => [],
  } as unknown as Admin;
  const kafka = { consumer: () => consumer, admin: () => admin } as unknown as Kafka;
  const emit = (event: string, payload: unknown) => {
    for (const handler of handlers.get(event) ?? []) handler({ payload });
  };
  return { kafka, admin, emit };
}

const logger = createLogger('silent');
const crash = (restart: boolean) => ({ error: new Error('MESSAGE_TOO_LARGE'), groupId: 'g', restart });

describe('report consumer on a crash', () => {
  it('is not running while kafkajs restarts it, and reports a crash it will not restart from', async () => {
    const { kafka, emit } = fakeKafka();
    const onFatal = vi.fn();
    const consumer = createReportConsumer({ kafka, groupId: 'g', topics: topicNames('t'), concurrency: 1, logger, onFatal, decoder: {} as never, pipeline: {} as never, alerts: {} as never, deadLetters: {} as never });
    await consumer.start();
    emit(EVENTS.GROUP_JOIN, { memberId: 'm', memberAssignment: {} });
    expect(consumer.running()).toBe(true);

    emit(EVENTS.CRASH, crash(true));
    expect(consumer.running()).toBe(false);
    expect(onFatal).not.toHaveBeenCalled();
    emit(EVENTS.GROUP_JOIN, { memberId: 'm', memberAssignment: {} });
    expect(consumer.running()).toBe(true);

    const fatal = crash(false);
    emit(EVENTS.CRASH, fatal);
    expect(consumer.running()).toBe(false);
    expect(onFatal).toHaveBeenCalledWith(fatal.error);
    await consumer.stop();
  });
});

describe('licence consumer on a crash', () => {
  it('reports only a crash kafkajs will not restart from', async () => {
    const { kafka, admin, emit } = fakeKafka();
    const onFatal = vi.fn();
    const consumer = createLicenceConsumer({ kafka, admin, groupId: 'g', topic: 't.licences.v1', logger, onFatal, decoder: {} as never, store: {} as never, deadLetters: {} as never });
    await consumer.start();
    emit(EVENTS.CRASH, crash(true));
    expect(onFatal).not.toHaveBeenCalled();
    const fatal = crash(false);
    emit(EVENTS.CRASH, fatal);
    expect(onFatal).toHaveBeenCalledWith(fatal.error);
    await consumer.stop();
  });
});
