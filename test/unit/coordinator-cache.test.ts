import { Kafka, logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { producerRememberingCoordinators, rememberingCoordinators } from '../../src/kafka/coordinator-cache.ts';

/** A broker whose endTxn answers as told, and a lookup that counts its round trips. */
function coordinatorLookup() {
  const state = { lookups: 0, endTxnFails: false };
  const broker = {
    nodeId: 1,
    async endTxn() {
      if (state.endTxnFails) throw new Error('NOT_COORDINATOR');
      return 'ended';
    },
  };
  const find = async () => {
    state.lookups += 1;
    return broker;
  };
  return { state, find };
}

const TRANSACTION = { groupId: 'ree.reports.3', coordinatorType: 1 };
const GROUP = { groupId: 'ree', coordinatorType: 0 };

describe('remembered coordinators', () => {
  it('asks the broker once per group and coordinator type', async () => {
    const { state, find } = coordinatorLookup();
    const lookup = rememberingCoordinators(find);
    await lookup(TRANSACTION);
    await lookup(TRANSACTION);
    await lookup(GROUP);
    await lookup(GROUP);
    expect(state.lookups).toBe(2);
  });

  it('asks again once a request to the coordinator it gave has failed', async () => {
    const { state, find } = coordinatorLookup();
    const lookup = rememberingCoordinators(find);
    const broker = (await lookup(TRANSACTION)) as { endTxn(): Promise<string>; nodeId: number };
    expect(broker.nodeId).toBe(1);
    await expect(broker.endTxn()).resolves.toBe('ended');
    await lookup(TRANSACTION);
    expect(state.lookups).toBe(1);
    state.endTxnFails = true;
    await expect(broker.endTxn()).rejects.toThrow('NOT_COORDINATOR');
    await lookup(TRANSACTION);
    expect(state.lookups).toBe(2);
  });

  it('keeps no failed lookup, and asks again after the time it trusts an answer', async () => {
    let now = 0;
    let fail = true;
    let lookups = 0;
    const lookup = rememberingCoordinators(
      async () => {
        lookups += 1;
        if (fail) throw new Error('COORDINATOR_NOT_AVAILABLE');
        return {};
      },
      { ttlMs: 1_000, now: () => now },
    );
    await expect(lookup(GROUP)).rejects.toThrow('COORDINATOR_NOT_AVAILABLE');
    fail = false;
    await lookup(GROUP);
    now = 999;
    await lookup(GROUP);
    expect(lookups).toBe(2);
    now = 1_000;
    await lookup(GROUP);
    expect(lookups).toBe(3);
  });

  it("builds a producer whose cluster remembers its coordinators, and leaves the client's other clusters as they were", async () => {
    const kafka = new Kafka({ clientId: 'test', brokers: ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
    const client = kafka as unknown as Record<symbol, (...args: unknown[]) => unknown>;
    const member = Object.getOwnPropertySymbols(kafka).find((s) => s.description === 'private:Kafka:createCluster')!;
    expect(member).toBeDefined();
    const clusters: { findGroupCoordinator: (q: object) => Promise<object> }[] = [];
    const { state, find } = coordinatorLookup();
    const fakeClusters = () => {
      const cluster = { findGroupCoordinator: find };
      clusters.push(cluster);
      return cluster;
    };
    client[member] = fakeClusters;
    producerRememberingCoordinators(kafka, { transactionalId: 'ree.reports.3', idempotent: true, maxInFlightRequests: 1 });
    expect(client[member]).toBe(fakeClusters);
    await clusters[0]!.findGroupCoordinator(TRANSACTION);
    await clusters[0]!.findGroupCoordinator(TRANSACTION);
    expect(state.lookups).toBe(1);
    kafka.producer();
    await clusters[1]!.findGroupCoordinator(TRANSACTION);
    expect(state.lookups).toBe(2);
  });
});
