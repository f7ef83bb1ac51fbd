/**
 * What the consumers do when kafkajs reports a crash: one it restarts from is survivable, one it
 * does not restart from must reach whoever can end the process (readiness alone would stay green).
 */
import { describe, expect, it, vi } from 'vitest';
import { topicNames } from '../../src/config/topics.ts';
import { createLicenceConsumer } from '../../src/consumers/licence-consumer.ts';
import { createReportConsumer } from '../../src/consumers/report-consumer.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { FAKE_EVENTS as EVENTS, fakeKafka } from '../helpers/fake-kafka.ts';

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
