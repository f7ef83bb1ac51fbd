/**
 * A transaction that outlives its transactionTimeout, on the real broker: the broker aborts it and
 * bumps the producer's epoch, so kafkajs reports it as fenced. While this instance still owns the
 * index, output-transactions.ts reopens the index's producer and the batch is redone in a new
 * transaction (before, the index was left with no producer until the next rebalance). A
 * read_committed reader sees only the redo's output, and the redo's offsets are committed.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';
import { createOutputTransactions } from '../../src/producers/output-transactions.ts';
import { retry } from '../../src/ops/retry.ts';
import { createTopic, deleteTopics, testKafka, uniqueName, waitForMessages } from '../helpers/stack-env.ts';

const kafka = testKafka('ree-broker-abort');
const topics: string[] = [];

afterAll(async () => {
  const admin = kafka.admin();
  await admin.connect();
  await deleteTopics(admin, topics);
  await admin.disconnect();
});

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
      let attempts = 0;
      const sent = await retry(
        () =>
          transactions.within({ topic: input, partition: 0, offset: '5' }, async (sender) => {
            attempts += 1;
            if (attempts === 1) {
              await sender.send({ topic: output, messages: [{ value: 'first try' }] });
              // Held open past the timeout: the broker's abort shows on the next send (it checks
              // for timed-out transactions every few seconds, so this waits for that, not a clock).
              for (;;) {
                await sleep(500);
                await sender.send({ topic: output, messages: [{ value: 'still the first try' }] });
              }
            }
            await sender.send({ topic: output, messages: [{ value: 'redo' }] });
            return 'redo';
          }),
        { retries: 3, minDelayMs: 50 },
      );
      expect(sent).toBe('redo');
      expect(attempts).toBe(2);
      expect(ownershipAsked).toBe(1);
      const read = await waitForMessages(kafka, output, 1, { filter: (m) => m.value?.toString() === 'redo' || m.value?.toString().includes('first') === true });
      expect(read.map((m) => m.value?.toString())).toEqual(['redo']);
      const offsets = await (async () => {
        const a = kafka.admin();
        await a.connect();
        try {
          return await a.fetchOffsets({ groupId, topics: [input] });
        } finally {
          await a.disconnect();
        }
      })();
      expect(offsets[0]!.partitions.find((p) => p.partition === 0)?.offset).toBe('5');
      // The index keeps working: the next transaction commits as usual.
      expect(await transactions.within({ topic: input, partition: 0, offset: '7' }, async (sender) => {
        await sender.send({ topic: output, messages: [{ value: 'next' }] });
        return 'next';
      })).toBe('next');
    } finally {
      await transactions.close();
    }
  }, 90_000);
});
