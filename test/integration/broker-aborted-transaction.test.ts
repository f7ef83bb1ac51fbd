/**
 * A transaction that outlives its transactionTimeout, on the real broker: the broker aborts it and
 * bumps the producer's epoch, so kafkajs reports it as fenced. While this instance still owns the
 * index, output-transactions.ts reopens the index's producer and the batch is redone in a new
 * transaction (before, the index was left with no producer until the next rebalance). A
 * read_committed reader sees only the redo's output, and the redo's offsets are committed.
 *
 * With two instances of a group, each assigned its own index at a time of its own, the one assigned
 * first still tells its own aborted transaction from a fence: ownership is recorded per index
 * (index-owners.ts), as `run` wires it. Before, only the epoch counter was asked, which only the
 * instance assigned last can read as "still mine", and the other's index stalled until the next
 * rebalance.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisIndexOwners } from '../../src/consumers/index-owners.ts';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';
import { createOutputTransactions, type OutputTransactions } from '../../src/producers/output-transactions.ts';
import { retry } from '../../src/ops/retry.ts';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis-state.ts';
import { REDIS_URL, createTopic, deleteTopics, testKafka, uniqueName, waitForMessages } from '../helpers/stack-env.ts';

const kafka = testKafka('ree-broker-abort');
const topics: string[] = [];
const redis = new Redis(REDIS_URL);
const prefix = uniquePrefix('abort');

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await deleteTopics(admin, topics);
  await admin.disconnect();
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

/**
 * One transaction of `partition` held open past the 1 s transactionTimeout (the broker's abort shows
 * on the next send: it checks for timed-out transactions every few seconds, so this waits for that,
 * not a clock), retried as a batch is: what the attempt that committed returned, and how many ran.
 */
async function abortedThenRedone(transactions: OutputTransactions, input: string, output: string, partition: number): Promise<{ sent: string; attempts: number }> {
  let attempts = 0;
  const sent = await retry(
    () =>
      transactions.within({ topic: input, partition, offset: '5' }, async (sender) => {
        attempts += 1;
        if (attempts === 1) {
          await sender.send({ topic: output, messages: [{ value: `first try of ${partition}` }] });
          for (;;) {
            await sleep(500);
            await sender.send({ topic: output, messages: [{ value: `still the first try of ${partition}` }] });
          }
        }
        await sender.send({ topic: output, messages: [{ value: `redo of ${partition}` }] });
        return `redo of ${partition}`;
      }),
    { retries: 3, minDelayMs: 50 },
  );
  return { sent, attempts };
}

async function committedOffset(groupId: string, topic: string, partition: number): Promise<string | undefined> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.find((p) => p.partition === partition)?.offset;
  } finally {
    await admin.disconnect();
  }
}

describe('a transaction the broker aborts after its timeout', () => {
  it('is redone on a reopened producer while this instance still owns the index', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const input = await createTopic(admin, uniqueName('ree-abort-in'));
    const output = await createTopic(admin, uniqueName('ree-abort-out'));
    topics.push(input, output);
    await admin.disconnect();
    const groupId = uniqueName('ree-abort-group');
    const committed = new CommittedOffsets();
    let ownershipAsked = 0;
    const transactions = createOutputTransactions({
      kafka,
      groupId,
      committed,
      transactionTimeoutMs: 1_000,
      stillOwns: async () => {
        ownershipAsked += 1;
        return true;
      },
    });
    try {
      await transactions.assign([0], [input]);
      const { sent, attempts } = await abortedThenRedone(transactions, input, output, 0);
      expect(sent).toBe('redo of 0');
      expect(attempts).toBe(2);
      expect(ownershipAsked).toBe(1);
      const read = await waitForMessages(kafka, output, 1, { filter: (m) => m.value?.toString().includes('of 0') === true });
      expect(read.map((m) => m.value?.toString())).toEqual(['redo of 0']);
      expect(await committedOffset(groupId, input, 0)).toBe('5');
      // The index keeps working: the next transaction commits as usual.
      expect(await transactions.within({ topic: input, partition: 0, offset: '7' }, async (sender) => {
        await sender.send({ topic: output, messages: [{ value: 'next' }] });
        return 'next';
      })).toBe('next');
    } finally {
      await transactions.close();
    }
  }, 90_000);

  it('is redone too on an instance that was not the last to be assigned, with ownership recorded per index', async () => {
    const admin = kafka.admin();
    await admin.connect();
    const input = await createTopic(admin, uniqueName('ree-abort2-in'), 2);
    const output = await createTopic(admin, uniqueName('ree-abort2-out'));
    topics.push(input, output);
    await admin.disconnect();
    const groupId = uniqueName('ree-abort2-group');
    const owners = createRedisIndexOwners({ redis, prefix, groupId });
    /** An instance as `run` makes one: a new epoch and the ownership record on assignment, before its producers open. */
    const instance = async (partition: number) => {
      const store = createEngineRedisStore({ redis, prefix, keepConnectionOpen: true });
      await owners.claim([partition], await store.durability.renewEpoch());
      const transactions = createOutputTransactions({
        kafka,
        groupId,
        committed: new CommittedOffsets(),
        transactionTimeoutMs: 1_000,
        stillOwns: async (p) => owners.owns(p, await store.durability.epoch()),
      });
      await transactions.assign([partition], [input]);
      return transactions;
    };
    // The first is assigned index 0; then the second joins and is assigned index 1, taking a newer
    // epoch: the counter is no longer at the first's.
    const first = await instance(0);
    const second = await instance(1);
    try {
      const { sent, attempts } = await abortedThenRedone(first, input, output, 0);
      expect(sent).toBe('redo of 0');
      expect(attempts).toBe(2);
      const read = await waitForMessages(kafka, output, 1, { filter: (m) => m.value?.toString().includes('of 0') === true });
      expect(read.map((m) => m.value?.toString())).toEqual(['redo of 0']);
      expect(await committedOffset(groupId, input, 0)).toBe('5');
      // The second's own index is untouched, and a real fence still reads as one: once the second
      // is assigned index 0 as well, the first's next transaction there is refused for good.
      expect(await second.within({ topic: input, partition: 1, offset: '3' }, async () => 'second')).toBe('second');
      await second.close();
      const successor = await instance(0);
      try {
        await expect(first.within({ topic: input, partition: 0, offset: '9' }, async () => 'zombie')).rejects.toMatchObject({ code: 'REE_ERR_FENCED' });
      } finally {
        await successor.close();
      }
    } finally {
      await Promise.all([first.close(), second.close()]);
    }
  }, 120_000);
});
