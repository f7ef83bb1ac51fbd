/**
 * The watchlist group's transactions (reference-transactions.ts) against a small model of the
 * broker (fake-transactional-kafka.ts): a batch's alerts and its offset commit together, and a
 * send that failed though the broker wrote it (its reply lost) does not make the redo's alerts
 * be taken for the aborted ones.
 */
import type { Admin } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { isTransactionNotCommitted } from '../../src/kafka/transaction-errors.ts';
import { createReferenceTransactions } from '../../src/producers/reference-transactions.ts';
import { fakeKafka, newBroker } from '../helpers/fake-transactional-kafka.ts';

async function setUp() {
  const broker = newBroker();
  const kafka = fakeKafka(broker);
  const transactions = createReferenceTransactions({ kafka, admin: kafka.admin() as unknown as Admin, groupId: 'wl', topic: 'watchlist' });
  await transactions.assign([0]);
  const publish = (offset: string, txn: string, value: string) =>
    transactions.commit(0, offset, txn, async (sender) => {
      await sender.send({ topic: 'alerts', messages: [{ value }] });
    });
  return { broker, transactions, publish };
}

describe('a watchlist transaction', () => {
  it("commits the batch's alerts with its offset, which names the transaction", async () => {
    const { broker, transactions, publish } = await setUp();
    await publish('5', 't1', 'm1');
    expect(broker.log).toEqual(['m1']);
    const committed = await transactions.settle(0);
    expect(committed.get(0)).toEqual({ offset: 5n, txn: 't1' });
  });

  it('whose send failed though the broker wrote it: aborted, its producer reopened, and the redo writes the alert', async () => {
    const { broker, publish } = await setUp();
    const opened = broker.opened;
    broker.loseSendReply = true;
    const failed = await publish('5', 't1', 'm1').catch((err: unknown) => err);
    expect((failed as Error).message).toMatch(/timed out/);
    expect(isTransactionNotCommitted(failed)).toBe(true);
    expect(broker.log).toEqual([]);
    await publish('5', 't2', 'm1');
    expect(broker.log).toEqual(['m1']);
    expect(broker.offsets.get('watchlist/0')?.offset).toBe('5');
    expect(broker.opened).toBe(opened + 1);
  });
});
