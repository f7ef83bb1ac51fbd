/**
 * What /readyz says while the detector starts and runs: start-up names what it is waiting for, and
 * Redis is not blamed before it has been tried, nor while its first connection is being made.
 */
import { describe, expect, it } from 'vitest';
import { readinessProblems, type ReadinessView } from '../../src/cli/run.ts';

const view = (over: Partial<ReadinessView>): ReadinessView => ({
  fatal: false,
  started: false,
  licencesLoaded: false,
  registry: true,
  redisStatus: 'wait',
  brokersReachable: true,
  reportConsumerRunning: false,
  ...over,
});

describe('readiness text', () => {
  it('follows start-up step by step without blaming Redis before it has been tried', () => {
    expect(readinessProblems(view({}))).toEqual(['starting: reaching Kafka and the schema registry']);
    expect(readinessProblems(view({ registry: false }))).toEqual(['starting: reaching Kafka']);
    expect(readinessProblems(view({ redisStatus: 'connecting' }))).toEqual(['connecting to Redis']);
    expect(readinessProblems(view({ redisStatus: 'connect' }))).toEqual(['connecting to Redis']);
    expect(readinessProblems(view({ redisStatus: 'ready' }))).toEqual(['starting: reaching Kafka']);
    expect(readinessProblems(view({ redisStatus: 'ready', started: true }))).toEqual(['loading the licence register, watchlist and quotas']);
    expect(readinessProblems(view({ redisStatus: 'ready', started: true, licencesLoaded: true }))).toEqual(['report consumer not in its group']);
    expect(readinessProblems(view({ redisStatus: 'ready', started: true, licencesLoaded: true, reportConsumerRunning: true }))).toEqual([]);
  });

  it('says Redis is unreachable once a connection attempt has failed, and during an outage', () => {
    expect(readinessProblems(view({ redisStatus: 'reconnecting' }))).toEqual(['Redis unreachable']);
    const running = { started: true, licencesLoaded: true, reportConsumerRunning: true };
    for (const redisStatus of ['reconnecting', 'connecting', 'connect', 'close', 'end']) {
      expect(readinessProblems(view({ ...running, redisStatus }))).toEqual(['Redis unreachable']);
    }
  });

  it('names unreachable brokers and a consumer that stopped for good', () => {
    const running = { started: true, licencesLoaded: true, reportConsumerRunning: true, redisStatus: 'ready' };
    expect(readinessProblems(view({ ...running, brokersReachable: false }))).toEqual(['Kafka brokers unreachable']);
    expect(readinessProblems(view({ ...running, fatal: true }))).toEqual(['a Kafka consumer stopped for good']);
  });
});
