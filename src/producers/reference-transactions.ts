/**
 * Transactions of a reference-data consumer group (the watchlist's): what a batch of one partition
 * of its compacted topic publishes, and the batch's offset, committed together, so a read_committed
 * reader sees the output if and only if the group has moved past the batch.
 *
 * One transactional producer per partition of the topic this member owns, id `<group>.<partition>`.
 * Opening them on assignment fences the partitions' previous owners (a paused zombie can no longer
 * commit, its open transaction is aborted); only then are the group's committed offsets read, so no
 * earlier transaction can still move them. Each commit writes its transaction id into the offset's
 * metadata (`ree-txn:<id>`, committed-offsets.ts): after a crash, or a commit whose outcome is
 * unknown, that says which transaction the offset came from.
 */
import type { Admin, Kafka, Transaction } from 'kafkajs';
import { ReeError } from '../errors.ts';
import type { MessageSender } from '../kafka/send-in-chunks.ts';
import { createFencingProducers, noteFailedSends, sendFailed } from '../kafka/fencing-producers.ts';
import { isConcurrentTransactions, isFencedError, transactionNotCommitted } from '../kafka/transaction-errors.ts';
import type { Logger } from '../ops/logger.ts';
import { retry } from '../ops/retry.ts';
import { offsetMetadata, txnOf } from '../pipeline/committed-offsets.ts';

/** A partition's committed position: the next offset to read (-1: none yet), and the transaction that committed it. */
export interface CommittedAt {
  offset: bigint;
  txn: string | undefined;
}

export interface ReferenceTransactions {
  /** On every assignment, before any batch: fences the partitions' earlier owners, then reads what the group has committed. */
  assign(partitions: readonly number[]): Promise<Map<number, CommittedAt>>;
  /**
   * Runs `work`, which sends through `sender`, then commits `offset` (the next to read) tagged
   * `txn`, in one transaction of the partition's producer; aborts on failure. Rejects with
   * REE_ERR_FENCED (not retriable) when a newer owner has taken the partition. A commit whose
   * outcome could not be settled (the broker still away) rejects unmarked (transaction-errors.ts)
   * and leaves the partition `unsettled` until `settle` has read what the group committed.
   */
  commit(partition: number, offset: string, txn: string, work: (sender: MessageSender) => Promise<void>): Promise<void>;
  /** Whether a commit of the partition has an outcome not settled yet: the partition's next transaction must wait for `settle`. */
  unsettled(partition: number): boolean;
  /**
   * Reads what the group has committed once the partition's unsettled commit is finished: a
   * producer of the id open again has finished it either way (opened here if need be), and the
   * offsets then say which way; they are returned, as `assign` returns them. The partition stays
   * unsettled until `settled`, called once the caller has acted on them.
   */
  settle(partition: number): Promise<Map<number, CommittedAt>>;
  settled(partition: number): void;
  close(): Promise<void>;
}

/** What `groupId` has committed on each partition of `topic`, and the transaction each offset names. */
export async function readCommitted(admin: Pick<Admin, 'fetchOffsets'>, groupId: string, topic: string): Promise<Map<number, CommittedAt>> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return new Map((offsets?.partitions ?? []).map((p) => [p.partition, { offset: BigInt(p.offset), txn: txnOf(p.metadata) }]));
}

export function createReferenceTransactions(options: {
  kafka: Kafka;
  admin: Admin;
  groupId: string;
  topic: string;
  logger?: Logger | undefined;
  transactionTimeoutMs?: number;
}): ReferenceTransactions {
  const { kafka, admin, groupId, topic, logger } = options;
  const producers = createFencingProducers({ kafka, transactionalIdOf: (partition) => `${groupId}.${partition}`, transactionTimeoutMs: options.transactionTimeoutMs });
  /**
   * Partitions with a transaction whose commit's outcome could not be settled (the broker still
   * away): settled before the partition's next transaction, which must not send again what that
   * one may have committed.
   */
  const unsettled = new Set<number>();

  return {
    async assign(partitions) {
      await producers.assign(partitions);
      // The new producers have finished every earlier transaction, and the offsets read say how.
      unsettled.clear();
      return readCommitted(admin, groupId, topic);
    },
    unsettled: (partition) => unsettled.has(partition),
    async settle(partition) {
      await producers.whenOpen(partition);
      return readCommitted(admin, groupId, topic);
    },
    settled(partition) {
      unsettled.delete(partition);
    },
    async commit(partition, offset, txnId, work) {
      const producer = producers.get(partition);
      if (!producer) throw transactionNotCommitted(new ReeError('REE_ERR_FENCED', `${topic} partition ${partition} is not assigned to this instance (or a newer owner has fenced it)`, { retriable: false }));
      let txn: Transaction | undefined;
      let committing = false;
      try {
        const ready = await producers.whenOpen(partition, producer);
        if (unsettled.has(partition)) throw new ReeError('REE_ERR_KAFKA', `an earlier commit of ${topic} partition ${partition} is not settled yet`, { retriable: true });
        txn = await ready.transaction();
        await work(noteFailedSends(txn));
        const current = txn;
        const offsets = { consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition, offset, metadata: offsetMetadata(0, txnId) }] }] };
        // Right after the previous commit the coordinator may still be writing its markers.
        await retry(() => current.sendOffsets(offsets), { retries: 8, minDelayMs: 20, maxDelayMs: 500, isRetriable: isConcurrentTransactions });
        committing = true;
        await txn.commit();
      } catch (err) {
        if (isFencedError(err)) {
          producers.drop(partition);
          const fenced = new ReeError('REE_ERR_FENCED', `the transactional producer of ${topic} partition ${partition} was fenced by a newer owner`, { cause: err, retriable: false });
          // Fenced while committing, the newer owner's producer may have completed the commit.
          throw committing ? fenced : transactionNotCommitted(fenced);
        }
        if (committing) {
          // Outcome unknown: a new producer of the id makes the broker finish it either way, and
          // the offset's metadata then says whether it was this transaction that committed. A
          // failed settle (the broker still away) leaves it unknown: that error goes up unmarked.
          logger?.warn({ err, topic, partition, offset }, 'transaction commit failed with its outcome unknown; settling it');
          let now: CommittedAt | undefined;
          try {
            await producers.reopen(partition, producer);
            await producers.whenOpen(partition);
            now = (await readCommitted(admin, groupId, topic)).get(partition);
          } catch (settleErr) {
            unsettled.add(partition);
            throw settleErr;
          }
          if (now?.txn === txnId) return;
          // Another transaction at or past this one's offset: a newer owner's, after this one's or
          // instead of it. That owner settled this one's hold on taking the partition.
          if (now !== undefined && now.offset >= BigInt(offset)) {
            throw new ReeError('REE_ERR_FENCED', `another owner has committed ${topic}/${partition} at or past ${offset}`, { cause: err, retriable: false });
          }
          throw transactionNotCommitted(new ReeError('REE_ERR_KAFKA', `the transaction committing ${topic}/${partition} at ${offset} did not commit`, { cause: err, retriable: true }));
        }
        if (txn?.isActive()) {
          await txn.abort().catch(async (abortErr: unknown) => {
            logger?.warn({ err: abortErr }, 'could not abort a transaction; reopening the producer aborts it');
            await producers.reopen(partition, producer).catch((openErr: unknown) => logger?.warn({ err: openErr }, 'could not reopen the transactional producer; the next transaction tries again'));
          });
        }
        if (txn && sendFailed(txn)) {
          logger?.warn({ err, topic, partition }, 'a send of an aborted transaction failed or was still on its way; reopening its producer so that the redo is not taken for it');
          await producers.reopen(partition, producer).catch((openErr: unknown) => logger?.warn({ err: openErr }, 'could not reopen the transactional producer; the next transaction tries again'));
        }
        // Its commit was never sent: it cannot have committed.
        throw transactionNotCommitted(err);
      }
    },
    async close() {
      await producers.close();
    },
  };
}
