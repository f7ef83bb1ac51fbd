/**
 * Output transactions (output-transactions.ts) against a small model of the broker
 * (fake-transactional-kafka.ts). An uncertain commit: the commit request fails (a timeout) with
 * its outcome unknown, and kafkajs leaves the producer refusing every later transaction; the
 * index's producer is reopened under the same transactional id (which makes the broker finish or
 * abort what was left), then the group's committed offsets say which it was. Also: several topics'
 * offsets in one transaction, when offsets are added, deferred offsets, fencing, and a send that
 * failed though the broker wrote it.
 */
import { describe, expect, it } from 'vitest';
import { CommittedOffsets, seqOf } from '../../src/pipeline/committed-offsets.ts';
import { createOutputTransactions } from '../../src/producers/output-transactions.ts';
import { ReeError } from '../../src/errors.ts';
import { isTransactionNotCommitted } from '../../src/kafka/transaction-errors.ts';
import { fakeKafka, newBroker } from '../helpers/fake-transactional-kafka.ts';

async function setUp(stillOwns?: () => Promise<boolean>) {
  const broker = newBroker();
  const committed = new CommittedOffsets();
  const transactions = createOutputTransactions({ kafka: fakeKafka(broker), groupId: 'g', committed, stillOwns });
  await transactions.assign([0], ['shipments']);
  const sendBatch = (offset: string, value: string) =>
    transactions.within({ topic: 'shipments', partition: 0, offset }, async (sender) => {
      await sender.send({ topic: 'alerts', messages: [{ value }] });
      return value;
    });
  return { broker, committed, transactions, sendBatch };
}

describe('a transaction whose commit fails with its outcome unknown', () => {
  it('that had committed: goes on as committed, and the next transaction works', async () => {
    const { broker, committed, sendBatch } = await setUp();
    broker.nextCommit = 'lost-after';
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '10' })).toBe(true);
    expect(await sendBatch('12', 'a2')).toBe('a2');
    expect(broker.log).toEqual(['a1', 'a2']);
  });

  it('that had not committed: fails (retriable) so the batch is redone, and the redo commits', async () => {
    const { broker, committed, sendBatch } = await setUp();
    broker.nextCommit = 'lost-before';
    const failed = await sendBatch('10', 'a1').catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ReeError);
    expect((failed as ReeError).retriable).toBe(true);
    // Settled as aborted: what the attempt held for its commit may go at once.
    expect(isTransactionNotCommitted(failed)).toBe(true);
    expect(broker.log).toEqual([]);
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '10' })).toBe(false);
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
  });

  it('whose settling fails too (the offsets cannot be read): fails without saying it did not commit, for it did', async () => {
    const { broker, committed, transactions, sendBatch } = await setUp();
    broker.nextCommit = 'lost-after';
    broker.offsetsUnreadable = true;
    const failed = await sendBatch('10', 'a1').catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(Error);
    expect(isTransactionNotCommitted(failed)).toBe(false);
    // The reopening completed the commit the coordinator had received.
    expect(broker.log).toEqual(['a1']);
    // The index refuses its next transaction until it is settled: its positions (a redone batch's
    // offsets, a timer pass's seq) may be what that one committed.
    broker.offsetsUnreadable = false;
    expect(transactions.unsettled(0)).toBe(true);
    const refused = await sendBatch('12', 'a2').catch((err: unknown) => err);
    expect(isTransactionNotCommitted(refused)).toBe(true);
    // Settled: the offsets read back name that transaction, and say so.
    const settled = await transactions.settle(0);
    expect(settled?.committed).toBe(true);
    expect(transactions.unsettled(0)).toBe(false);
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '10' })).toBe(true);
    expect(await sendBatch('12', 'a2')).toBe('a2');
    expect(broker.log).toEqual(['a1', 'a2']);
  });

  it('of an idle partition\'s timer pass: the seq it committed is read back', async () => {
    const { broker, committed, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    broker.nextCommit = 'lost-after';
    const sent = await transactions.withinTimers(0, async (sender, position) => {
      await sender.send({ topic: 'alerts', messages: [{ value: `t@${position.offset}#${position.seq}` }] });
      return [position];
    });
    expect(broker.log).toEqual(['a1', 't@10#1']);
    expect(seqOf(broker.offsets.get('shipments/0')?.metadata)).toBe(1);
    expect(committed.covers(sent![0]!)).toBe(true);
    expect(committed.timerPosition(0)).toMatchObject({ offset: '10', seq: 2 });
  });
});

describe("a transaction of one index's batches from several report topics", () => {
  const positions = [
    { topic: 'shipments', partition: 0, offset: '10' },
    { topic: 'production', partition: 0, offset: '4' },
  ];

  it('commits every batch\'s offset with what it sent, in one transaction', async () => {
    const { broker, committed, transactions } = await setUp();
    broker.calls.length = 0;
    await transactions.within(positions, async (sender) => sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }));
    expect(broker.calls).toEqual(['sendOffsets', 'send', 'commit']);
    expect(broker.log).toEqual(['a1']);
    expect([broker.offsets.get('shipments/0')?.offset, broker.offsets.get('production/0')?.offset]).toEqual(['10', '4']);
    for (const p of positions) expect(committed.covers({ txn: 'x', ...p })).toBe(true);
  });

  it('whose commit is lost before the coordinator: covers none of them, and the redo commits all', async () => {
    const { broker, committed, transactions } = await setUp();
    broker.nextCommit = 'lost-before';
    const send = () => transactions.within(positions, async (sender) => sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }));
    expect(((await send().catch((err: unknown) => err)) as ReeError).retriable).toBe(true);
    for (const p of positions) expect(committed.covers({ txn: 'x', ...p })).toBe(false);
    await send();
    expect(broker.log).toEqual(['a1']);
    for (const p of positions) expect(committed.covers({ txn: 'x', ...p })).toBe(true);
  });

  it('is refused for positions of two partition indexes', async () => {
    const { transactions } = await setUp();
    await expect(transactions.within([positions[0]!, { topic: 'production', partition: 1, offset: '1' }], async () => undefined)).rejects.toThrow(/one partition index/);
  });
});

describe("when a transaction's offsets are added", () => {
  it("a batch's: while its work runs, so their round trips do not follow the work", async () => {
    const { broker, transactions } = await setUp();
    broker.calls.length = 0;
    let release: () => void = () => undefined;
    const working = new Promise<void>((resolve) => (release = resolve));
    const done = transactions.within({ topic: 'shipments', partition: 0, offset: '10' }, async (sender) => {
      await working;
      await sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] });
      return 'a1';
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.calls).toEqual(['sendOffsets']);
    release();
    expect(await done).toBe('a1');
    expect(broker.calls).toEqual(['sendOffsets', 'send', 'commit']);
    expect(broker.log).toEqual(['a1']);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('10');
  });

  it("a batch's whose work fails: the transaction is aborted and nothing committed", async () => {
    const { broker, committed, transactions } = await setUp();
    broker.calls.length = 0;
    const failed = await transactions
      .within({ topic: 'shipments', partition: 0, offset: '10' }, async () => {
        throw new Error('Redis down');
      })
      .catch((err: unknown) => err);
    expect((failed as Error).message).toBe('Redis down');
    expect(isTransactionNotCommitted(failed)).toBe(true);
    expect(broker.calls).toEqual(['sendOffsets', 'abort']);
    expect(broker.offsets.has('shipments/0')).toBe(false);
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '10' })).toBe(false);
  });

  it("a timer pass's: with its first send, and none when it sent nothing", async () => {
    const { broker, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    broker.calls.length = 0;
    expect(await transactions.withinTimers(0, async () => [])).toEqual([]);
    expect(broker.calls).toEqual(['abort']);
    broker.calls.length = 0;
    await transactions.withinTimers(0, async (sender, position) => {
      await sender.send({ topic: 'alerts', messages: [{ value: 't' }] });
      return [position];
    });
    expect(broker.calls).toEqual(['sendOffsets', 'send', 'commit']);
  });
});

describe('a batch that sends nothing, with deferIfNothingSent (REE_COMMIT_INTERVAL_MS)', () => {
  const nothing = async () => 'nothing';
  const defer = { deferIfNothingSent: true };

  it('asks nothing of the broker and commits nothing: its offset is deferred', async () => {
    const { broker, committed, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    broker.calls.length = 0;
    let after = false;
    expect(await transactions.within({ topic: 'shipments', partition: 0, offset: '15', txn: 't2' }, nothing, async () => void (after = true), defer)).toBe('nothing');
    expect(broker.calls).toEqual(['abort']);
    expect(after).toBe(false);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('10');
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '15' })).toBe(false);
    expect(transactions.deferred(0)).toBe(true);
  });

  it("is carried by the index's next transaction that sends, under that one's id, on every topic it deferred", async () => {
    const { broker, committed, transactions } = await setUp();
    await transactions.within({ topic: 'production', partition: 0, offset: '7', txn: 't1' }, nothing, undefined, defer);
    await transactions.within({ topic: 'shipments', partition: 0, offset: '3', txn: 't2' }, nothing, undefined, defer);
    broker.calls.length = 0;
    await transactions.within(
      { topic: 'shipments', partition: 0, offset: '9', txn: 't3' },
      async (sender) => sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }),
      undefined,
      defer,
    );
    expect(broker.calls).toEqual(['sendOffsets', 'send', 'commit']);
    expect(broker.log).toEqual(['a1']);
    expect(broker.offsets.get('shipments/0')).toEqual({ offset: '9', metadata: 'ree-txn:t3' });
    expect(broker.offsets.get('production/0')).toEqual({ offset: '7', metadata: 'ree-txn:t3' });
    expect(committed.covers({ txn: 'x', topic: 'production', partition: 0, offset: '7' })).toBe(true);
    expect(transactions.deferred(0)).toBe(false);
  });

  it('is committed by the next timer pass even when it sends nothing (the flush), at seq 0', async () => {
    const { broker, committed, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    await transactions.within({ topic: 'shipments', partition: 0, offset: '14', txn: 't2' }, nothing, undefined, defer);
    broker.calls.length = 0;
    let tagged: { offset: string; seq?: number | undefined } | undefined;
    expect(
      await transactions.withinTimers(0, async (_sender, position) => {
        tagged = position;
        return [];
      }),
    ).toEqual([]);
    expect(broker.calls).toEqual(['sendOffsets', 'commit']);
    expect(tagged).toMatchObject({ topic: 'shipments', offset: '14' });
    expect(tagged?.seq ?? 0).toBe(0);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('14');
    expect(seqOf(broker.offsets.get('shipments/0')?.metadata)).toBe(0);
    expect(committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '14' })).toBe(true);
    expect(transactions.deferred(0)).toBe(false);
    // With nothing deferred, a timer pass that sends nothing commits nothing again.
    broker.calls.length = 0;
    await transactions.withinTimers(0, async () => []);
    expect(broker.calls).toEqual(['abort']);
  });

  it('is not kept at or before what the group has (committing it would move a timer seq back)', async () => {
    const { broker, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    await transactions.withinTimers(0, async (sender, position) => {
      await sender.send({ topic: 'alerts', messages: [{ value: 't' }] });
      return [position];
    });
    expect(seqOf(broker.offsets.get('shipments/0')?.metadata)).toBe(1);
    await transactions.within({ topic: 'shipments', partition: 0, offset: '10', txn: 't3' }, nothing, undefined, defer);
    expect(transactions.deferred(0)).toBe(false);
  });

  it('is dropped by a new assignment (the consumer reads on from the group\'s offsets)', async () => {
    const { transactions } = await setUp();
    await transactions.within({ topic: 'shipments', partition: 0, offset: '5', txn: 't1' }, nothing, undefined, defer);
    expect(transactions.deferred(0)).toBe(true);
    await transactions.assign([0], ['shipments']);
    expect(transactions.deferred(0)).toBe(false);
  });

  it('that does send: its offsets are added first and the send waits for them (the coordinator refuses two changes of a transaction at once)', async () => {
    const { broker, transactions } = await setUp();
    let open: () => void = () => undefined;
    broker.offsetsGate = new Promise<void>((resolve) => (open = resolve));
    broker.calls.length = 0;
    const done = transactions.within({ topic: 'shipments', partition: 0, offset: '5', txn: 't1' }, async (sender) => sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }), undefined, defer);
    await new Promise((resolve) => setImmediate(resolve));
    expect(broker.calls).toEqual(['sendOffsets']);
    open();
    await done;
    expect(broker.calls).toEqual(['sendOffsets', 'send', 'commit']);
    expect(broker.log).toEqual(['a1']);
  });

  it('stays deferred when the transaction carrying it fails, and the redo carries it', async () => {
    const { broker, transactions } = await setUp();
    await transactions.within({ topic: 'production', partition: 0, offset: '7', txn: 't1' }, nothing, undefined, defer);
    broker.nextCommit = 'lost-before';
    const alert = (txn: string) => transactions.within({ topic: 'shipments', partition: 0, offset: '9', txn }, async (sender) => sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }), undefined, defer);
    await expect(alert('t2')).rejects.toThrow();
    expect(transactions.deferred(0)).toBe(true);
    expect(broker.offsets.has('production/0')).toBe(false);
    await alert('t3');
    expect(broker.offsets.get('production/0')).toEqual({ offset: '7', metadata: 'ree-txn:t3' });
    expect(transactions.deferred(0)).toBe(false);
  });

  it('is forgotten, not committed, by forgetDeferred (the instance has left the group)', async () => {
    const { broker, transactions, sendBatch } = await setUp();
    await sendBatch('10', 'a1');
    await transactions.within({ topic: 'shipments', partition: 0, offset: '14', txn: 't2' }, nothing, undefined, defer);
    transactions.forgetDeferred();
    expect(transactions.deferred(0)).toBe(false);
    broker.calls.length = 0;
    await transactions.withinTimers(0, async () => []);
    expect(broker.calls).toEqual(['abort']);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('10');
  });

  it('without the option, commits its offset though it sent nothing, as before', async () => {
    const { broker, transactions } = await setUp();
    broker.calls.length = 0;
    await transactions.within({ topic: 'shipments', partition: 0, offset: '5', txn: 't1' }, nothing);
    expect(broker.calls).toEqual(['sendOffsets', 'commit']);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('5');
    expect(transactions.deferred(0)).toBe(false);
  });
});

describe('a transaction one of whose sends fails', () => {
  it('though the broker wrote it (its reply lost): aborted, its producer reopened, and the redo writes the alert again instead of being taken for the aborted one', async () => {
    const { broker, transactions, sendBatch } = await setUp();
    const opened = broker.opened;
    broker.loseSendReply = true;
    const failed = await sendBatch('10', 'a1').catch((err: unknown) => err);
    expect((failed as Error).message).toMatch(/timed out/);
    expect(isTransactionNotCommitted(failed)).toBe(true);
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('10');
    expect(transactions.committed.covers({ txn: 'x', topic: 'shipments', partition: 0, offset: '10' })).toBe(true);
    expect(broker.opened).toBe(opened + 1);
  });

  it('in a timer pass (commits only if it sends): the same', async () => {
    const { broker, transactions, sendBatch } = await setUp();
    expect(await sendBatch('10', 'a1')).toBe('a1');
    const opened = broker.opened;
    broker.loseSendReply = true;
    const pass = () => transactions.withinTimers(0, async (sender) => [await sender.send({ topic: 'alerts', messages: [{ value: 'late' }] })]);
    await expect(pass()).rejects.toThrow(/timed out/);
    await pass();
    expect(broker.log).toEqual(['a1', 'late']);
    expect(broker.opened).toBe(opened + 1);
  });

  it('still on its way when another step of the work fails (a Redis write beside it): its producer is reopened all the same, and the redo is written', async () => {
    const { broker, transactions, sendBatch } = await setUp(async () => true);
    const opened = broker.opened;
    let release!: () => void;
    broker.sendGate = new Promise((resolve) => (release = resolve));
    broker.loseSendReply = true;
    let straggler: Promise<unknown> | undefined;
    const failed = await transactions
      .within({ topic: 'shipments', partition: 0, offset: '10' }, async (sender) => {
        straggler = sender.send({ topic: 'alerts', messages: [{ value: 'a1' }] }).catch((err: unknown) => err);
        throw new Error('Redis down');
      })
      .catch((err: unknown) => err);
    expect((failed as Error).message).toBe('Redis down');
    expect(broker.opened).toBe(opened + 1);
    // The send reaches the old producer's partition after the abort, its reply lost.
    broker.sendGate = undefined;
    release();
    await straggler;
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
  });

  it('when a newer owner has taken the index meanwhile: the producer is dropped, not reopened (that would fence the newer owner)', async () => {
    let owns = true;
    const { broker, sendBatch } = await setUp(async () => owns);
    const opened = broker.opened;
    broker.loseSendReply = true;
    owns = false;
    await expect(sendBatch('10', 'a1')).rejects.toThrow(/timed out/);
    expect(broker.opened).toBe(opened);
    await expect(sendBatch('10', 'a1')).rejects.toMatchObject({ code: 'REE_ERR_FENCED' });
  });

  it('work that fails with no send failed keeps its producer', async () => {
    const { broker, transactions, sendBatch } = await setUp();
    const opened = broker.opened;
    await transactions.within({ topic: 'shipments', partition: 0, offset: '10' }, async () => Promise.reject(new Error('Redis down'))).catch(() => undefined);
    expect(broker.opened).toBe(opened);
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
  });
});

describe('a transaction that reads as fenced', () => {
  it('while this instance still owns the index (the broker aborted it): reopens the producer, fails retriably, and the redo commits', async () => {
    const { broker, sendBatch } = await setUp(async () => true);
    // The aborted producer refuses every later transaction (the fake's `stuck`): the redo works only on a new one.
    broker.abortOpen = true;
    const failed = await sendBatch('10', 'a1').catch((err: unknown) => err);
    expect(failed).toBeInstanceOf(ReeError);
    expect((failed as ReeError).code).toBe('REE_ERR_KAFKA');
    expect((failed as ReeError).retriable).toBe(true);
    expect(isTransactionNotCommitted(failed)).toBe(true);
    expect(broker.log).toEqual([]);
    expect(await sendBatch('10', 'a1')).toBe('a1');
    expect(broker.log).toEqual(['a1']);
    expect(broker.offsets.get('shipments/0')?.offset).toBe('10');
  });

  it('when a newer owner has taken the index: fenced, and nothing more goes out until the next assignment', async () => {
    const { broker, sendBatch } = await setUp(async () => false);
    broker.abortOpen = true;
    expect(((await sendBatch('10', 'a1').catch((err: unknown) => err)) as ReeError).code).toBe('REE_ERR_FENCED');
    expect(((await sendBatch('10', 'a1').catch((err: unknown) => err)) as ReeError).code).toBe('REE_ERR_FENCED');
    expect(broker.log).toEqual([]);
  });

  it("when its work fails and the abort reads as fenced by a newer owner: the producer is not reopened (that would fence the newer owner's), and nothing more goes out", async () => {
    const { broker, transactions, sendBatch } = await setUp(async () => false);
    const opened = broker.opened;
    broker.fenceAbort = true;
    const failed = await transactions
      .within({ topic: 'shipments', partition: 0, offset: '10' }, async () => {
        throw new ReeError('REE_ERR_FENCED', 'cannot save producer state: 1 producer(s) now belong to a newer owner', { retriable: false });
      })
      .catch((err: unknown) => err);
    expect((failed as ReeError).code).toBe('REE_ERR_FENCED');
    expect(broker.opened).toBe(opened);
    expect(((await sendBatch('11', 'a2').catch((err: unknown) => err)) as ReeError).code).toBe('REE_ERR_FENCED');
    expect(broker.opened).toBe(opened);
  });

  it('when its work fails and the abort reads as fenced while this instance still owns the index: reopened, as an abort the broker made', async () => {
    const { broker, transactions, sendBatch } = await setUp(async () => true);
    const opened = broker.opened;
    broker.fenceAbort = true;
    await transactions.within({ topic: 'shipments', partition: 0, offset: '10' }, async () => Promise.reject(new Error('Redis down'))).catch(() => undefined);
    expect(broker.opened).toBe(opened + 1);
    expect(await sendBatch('10', 'a1')).toBe('a1');
  });

  it('when ownership cannot be told (Redis down): taken as fenced', async () => {
    const { broker, sendBatch } = await setUp(async () => {
      throw new Error('Redis down');
    });
    broker.abortOpen = true;
    expect(((await sendBatch('10', 'a1').catch((err: unknown) => err)) as ReeError).code).toBe('REE_ERR_FENCED');
  });
});
