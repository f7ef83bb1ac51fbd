/**
 * A report transaction's journal hold (handle-batch.ts): what the transaction sends is held before
 * its commit and released after its marks; an attempt whose commit did not go through has its hold
 * released at once, not left for the index's next owner. Over a model of the transactions that
 * runs the work and then fails the commit on demand (a real broker cannot be made to refuse one
 * commit here), a real pipeline over the in-memory store, and the in-memory journal.
 */
import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { handleReportBatches, type TakenBatch } from '../../src/consumers/handle-batch.ts';
import { createMemoryTxnJournal, type TxnJournal } from '../../src/consumers/txn-journal.ts';
import type { Alert } from '../../src/domain/events.ts';
import { ReeError } from '../../src/errors.ts';
import { transactionNotCommitted } from '../../src/kafka/transaction-errors.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';
import type { CommitPosition, OutputTransactions } from '../../src/producers/output-transactions.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { transactionalBatchDeps } from '../helpers/batch-deps.ts';
import { reports, testCatalogue } from '../helpers/builders.ts';

/** The journal's calls, in order, as `hold <txn>` / `release <txn>`. */
function recordingJournal(): { journal: TxnJournal; calls: string[]; ids: string[] } {
  const inner = createMemoryTxnJournal();
  const calls: string[] = [];
  const ids: string[] = [];
  const name = (txn: string) => {
    if (!ids.includes(txn)) ids.push(txn);
    return `t${ids.indexOf(txn) + 1}`;
  };
  return {
    calls,
    ids,
    journal: {
      hold: async (p, txn, alerts) => void (calls.push(`hold ${name(txn)}`), await inner.hold(p, txn, alerts)),
      release: async (p, txn) => void (calls.push(`release ${name(txn)}`), await inner.release(p, txn)),
      held: (p) => inner.held(p),
    },
  };
}

/**
 * Transactions that run the work, then fail the commit of the first `failing` attempts (retriable):
 * as known not committed (what output-transactions.ts marks), or with the outcome unknown (a
 * commit timeout whose settling failed too), the commit having gone through or not. As the real
 * ones, an index left unsettled refuses its next transaction until `settle` has read it back.
 */
function modelTransactions(failing: number, outcome: 'not committed' | 'unknown' | 'unknown, went through', calls: string[]): OutputTransactions {
  let failures = failing;
  const committed = new CommittedOffsets();
  let unsettled: { txn: string; wentThrough: boolean; position: CommitPosition } | undefined;
  const within = async <T>(positions: CommitPosition[], work: (sender: never) => Promise<T>, afterCommit?: (result: T) => Promise<void>): Promise<T> => {
    if (unsettled) throw transactionNotCommitted(new ReeError('REE_ERR_KAFKA', 'settle first', { retriable: true }));
    const result = await work({ send: async () => [] } as never);
    const position = positions[0]!;
    if (failures > 0) {
      failures -= 1;
      const err = new ReeError('REE_ERR_KAFKA', 'the commit failed (the broker went away)', { retriable: true });
      if (outcome === 'not committed') throw transactionNotCommitted(err);
      unsettled = { txn: position.txn!, wentThrough: outcome === 'unknown, went through', position };
      throw err;
    }
    committed.note(position.topic, position.partition, position.offset, 0, position.txn);
    await afterCommit?.(result);
    return result;
  };
  return {
    within,
    committed,
    unsettled: () => unsettled !== undefined,
    settle: async () => {
      const was = unsettled;
      unsettled = undefined;
      if (!was) return undefined;
      calls.push('settle');
      if (was.wentThrough) committed.note(was.position.topic, was.position.partition, was.position.offset, 0, was.txn);
      return { txn: was.txn, committed: was.wentThrough };
    },
  } as unknown as OutputTransactions;
}

async function oneBatch(
  failing: number,
  commitOutcome: 'not committed' | 'unknown' | 'unknown, went through' = 'not committed',
  options: { marksRefused?: boolean; sequential?: { owned: number[]; unsettled: number[] } } = {},
) {
  const { journal, calls, ids } = recordingJournal();
  const transactions = modelTransactions(failing, commitOutcome, calls);
  const fired: (readonly number[])[] = [];
  if (options.sequential) {
    const own = transactions.unsettled;
    const others = options.sequential.unsettled;
    transactions.unsettled = (p) => others.includes(p) || own(p);
  }
  const published: Alert[] = [];
  const store = createEngineMemoryStore();
  if (options.marksRefused) {
    store.markAlertsPublished = async () => {
      throw new ReeError('REE_ERR_STATE', 'Redis refused the marks', { retriable: false });
    };
  }
  const pipeline = createPipeline({ store, rules: loadRulesFile(), catalogue: testCatalogue(), now: () => 0 });
  const fireTimers = pipeline.fireTimers.bind(pipeline);
  pipeline.fireTimers = (partitions, sending) => (fired.push(partitions ?? []), fireTimers(partitions, sending));
  const report = reports.shipments({ licenceId: null });
  const batch: TakenBatch = {
    batch: { kind: 'shipments', topic: 'r.shipments.v1', partition: 0, records: [{ key: null, value: Buffer.from('{}'), offset: '0' }] },
    decoded: [{ ok: true, value: report }],
  };
  const deps = transactionalBatchDeps(pipeline, { transactions, journal }, published, options.sequential ? { sequential: true, ownedPartitions: () => options.sequential!.owned } : {});
  const outcome = await handleReportBatches(deps, [batch]).catch((err: unknown) => err as Error);
  return { outcome, calls, ids, journal, published, store, fired };
}

describe('a report transaction\'s journal hold', () => {
  it('is released after the marks when the transaction commits', async () => {
    const { outcome, calls, journal } = await oneBatch(0);
    if (outcome instanceof Error) throw outcome;
    expect(outcome.alerts.map((a) => a.ruleId)).toEqual(['unlicensed-client']);
    expect(calls).toEqual(['hold t1', 'release t1']);
    expect((await journal.held(0)).size).toBe(0);
  });

  it('is released at once when the commit is known not to have gone through; the retry holds and releases its own', async () => {
    const { outcome, calls, ids, journal, published } = await oneBatch(1);
    if (outcome instanceof Error) throw outcome;
    expect(ids).toHaveLength(2);
    expect(calls).toEqual(['hold t1', 'release t1', 'hold t2', 'release t2']);
    expect((await journal.held(0)).size).toBe(0);
    // The retry sent the producer's outbox again: the alert in both attempts, committed by the second.
    expect(outcome.alerts.map((a) => a.ruleId)).toEqual(['unlicensed-client']);
    expect(published.map((a) => a.alertId)).toEqual([outcome.alerts[0]!.alertId, outcome.alerts[0]!.alertId]);
  });

  it("stays while the commit's outcome is unknown; the index's next transaction settles it first (not committed: released) and then holds its own", async () => {
    const { outcome, calls, journal, published } = await oneBatch(1, 'unknown');
    if (outcome instanceof Error) throw outcome;
    expect(calls).toEqual(['hold t1', 'settle', 'release t1', 'hold t2', 'release t2']);
    expect((await journal.held(0)).size).toBe(0);
    expect(published).toHaveLength(2);
  });

  it('stays while the outcome is unknown; settled as committed, its alerts are marked, and the batch it committed is not sent again', async () => {
    const { outcome, calls, journal, published, store } = await oneBatch(1, 'unknown, went through');
    if (outcome instanceof Error) throw outcome;
    expect(calls).toEqual(['hold t1', 'settle', 'release t1']);
    expect((await journal.held(0)).size).toBe(0);
    expect(published.map((a) => a.ruleId)).toEqual(['unlicensed-client']);
    expect(await store.unpublishedAlerts(published.map((a) => a.alertId))).toEqual([]);
  });

  it("at REE_CONCURRENCY 1, leaves out of a batch's timer firing an owned index whose commit is not settled yet (its outboxes cannot tell what that commit sent)", async () => {
    const { outcome, fired } = await oneBatch(0, 'not committed', { sequential: { owned: [0, 1, 2], unsettled: [1] } });
    if (outcome instanceof Error) throw outcome;
    expect(fired).toEqual([[0, 2]]);
  });

  it('stays when the commit went through and the marks failed after it', async () => {
    const { outcome, calls, ids, journal } = await oneBatch(0, 'not committed', { marksRefused: true });
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toMatch(/refused the marks/);
    expect(calls).toEqual(['hold t1']);
    expect([...(await journal.held(0)).keys()]).toEqual([ids[0]]);
  });
});
