/**
 * Exactly-once output (DESIGN.md, "Semantics"): a report batch's alerts and dead letters are
 * produced, and its input offsets committed, in one Kafka transaction. A read_committed reader of
 * the alerts topic then sees them if and only if the offsets moved past the batch.
 *
 * One transactional producer per report partition index this instance owns (the co-partitioned
 * assignment gives one member all four report topics of an index), its transactional id the
 * group's and the index's. Opening it on assignment (kafkajs initialises the producer id with the
 * first transaction) fences the index's previous owner: a paused zombie's producer can no longer
 * commit, and its open transaction is aborted. Only then are the group's committed offsets read
 * (committed-offsets.ts), so no transaction of the old owner can still move them.
 */
import { randomUUID } from 'node:crypto';
import type { Admin, Kafka, Producer, Transaction } from 'kafkajs';
import { ReeError } from '../errors.ts';
import type { MessageSender } from '../kafka/send-in-chunks.ts';
import { createFencingProducers, noteFailedSends, sendFailed } from '../kafka/fencing-producers.ts';
import { isConcurrentTransactions, isFencedError, transactionNotCommitted } from '../kafka/transaction-errors.ts';
import type { Logger } from '../ops/logger.ts';
import { retry } from '../ops/retry.ts';
import { offsetMetadata, seqOf, txnOf, type CommittedOffsets } from '../pipeline/committed-offsets.ts';
import { createKeyedLock } from '../pipeline/keyed-lock.ts';

/**
 * The input position one transaction commits: the next offset of one topic-partition (and a
 * timer-only transaction's seq at it), and the transaction's id, written into the offset's
 * metadata so that a later owner can tell which transaction the offset came from (txn-journal.ts).
 */
export interface CommitPosition {
  topic: string;
  partition: number;
  offset: string;
  seq?: number;
  txn?: string;
}

export interface OutputTransactions {
  /** The group's committed offsets as this instance knows them; moved by every commit. */
  readonly committed: CommittedOffsets;
  /**
   * On every assignment, before any batch: fences the previous owners of these partition indexes
   * and reads the committed offsets of `topics` (the report topics).
   */
  assign(partitions: readonly number[], topics: readonly string[]): Promise<void>;
  /**
   * Runs `work`, which sends through `sender`, then commits `positions` with what it sent, in one
   * transaction of their partition index's producer; aborts on failure. The positions are of one
   * index (the report topics' batches of it taken from one fetch, or a single one). One at a time
   * per index. Rejects with REE_ERR_FENCED when a newer owner has taken the index.
   *
   * `afterCommit` runs once the transaction has committed, while no other transaction of the index
   * can start: the journal's held transaction is then still the one the offsets name until it is
   * released there (txn-journal.ts).
   *
   * With `deferIfNothingSent`, a transaction in which `work` sent nothing commits nothing either
   * (kafkajs ends it without a request): its positions are left to the index's next transaction
   * that commits, which carries them (`deferred`), as Kafka Streams commits at an interval. Safe
   * because nothing went out tagged with them (outbox.ts) and a redelivered report changes no state;
   * the cost is that a crash or rebalance redelivers the reports since the last commit.
   * `afterCommit` runs only when it committed.
   */
  within<T>(
    positions: CommitPosition | readonly CommitPosition[],
    work: (sender: MessageSender) => Promise<T>,
    afterCommit?: (result: T) => Promise<void>,
    options?: { deferIfNothingSent?: boolean },
  ): Promise<T>;
  /**
   * Whether partition index `partition` has positions a transaction that sent nothing left
   * uncommitted (`within`'s `deferIfNothingSent`): its next transaction, a batch's or a timer
   * pass's (`withinTimers`), commits them.
   */
  deferred(partition: number): boolean;
  /**
   * Forgets every deferred position, committing none: once this instance has left the group, a
   * commit that moved an index's offsets on could land after its next owner's consumer has read
   * them, and that owner's view of the group's offsets would run ahead of what it reads.
   */
  forgetDeferred(): void;
  /**
   * The same for a timer pass of partition index `partition` with no report batch: the transaction
   * commits the offset the group already has on one of the index's topic-partitions, with the next
   * seq (committed-offsets.ts), taken while no other transaction of the index is open. `work` gets
   * that position, with a new transaction id. Resolves to undefined, running nothing, while the
   * index has nothing committed. When `work` sent nothing (an empty result) nothing is committed
   * either: no outbox entry went out tagged with the transaction, and the broker is spared a round
   * trip. `afterCommit` as for `within`, only when it committed.
   *
   * While the index has deferred positions (`deferred`) the pass commits those instead, with seq 0
   * (they are past what the group has), and always, even when `work` sent nothing: that is how a
   * deferral is flushed.
   */
  withinTimers<T extends readonly unknown[]>(
    partition: number,
    work: (sender: MessageSender, position: CommitPosition & { txn: string }) => Promise<T>,
    afterCommit?: (result: T, position: CommitPosition & { txn: string }) => Promise<void>,
  ): Promise<T | undefined>;
  /**
   * Whether the index has a transaction whose commit's outcome could not be settled (the broker
   * away when it was asked): the index's next transaction is refused until `settle` has run.
   */
  unsettled(partition: number): boolean;
  /**
   * Settles it: with a producer of the index open again (which finishes it either way), reads
   * back what the group has committed, and says which transaction it was and whether it
   * committed. Undefined when nothing was unsettled.
   */
  settle(partition: number): Promise<{ txn: string; committed: boolean } | undefined>;
  close(): Promise<void>;
}

export function createOutputTransactions(options: {
  kafka: Kafka;
  groupId: string;
  committed: CommittedOffsets;
  logger?: Logger | undefined;
  /** How long the broker keeps a dead instance's transaction open if nobody takes its index over. */
  transactionTimeoutMs?: number;
  /**
   * Whether this instance still owns partition index `partition` (no newer assignment anywhere in
   * the group since its own). Asked when a transaction reads as fenced: the broker aborts a
   * transaction that outlives `transactionTimeoutMs` by bumping the producer's epoch, which kafkajs
   * reports just as a newer owner's fencing. Without it every fenced error counts as a newer owner.
   */
  stillOwns?: ((partition: number) => Promise<boolean>) | undefined;
}): OutputTransactions {
  const { kafka, groupId, committed, logger } = options;
  /** Producers of the indexes owned since the last assignment; an index fenced off since is absent. */
  const producers = createFencingProducers({ kafka, transactionalIdOf: (partition) => `${groupId}.reports.${partition}`, transactionTimeoutMs: options.transactionTimeoutMs });
  const lock = createKeyedLock<number>();

  /** One admin for the instance's life, connected on the first assignment; it knows the topics' partitions once asked. */
  let admin: Promise<Admin> | undefined;
  const known = new Set<string>();
  const offsetsReader = async (topics: readonly string[]): Promise<Admin> => {
    if (!admin) {
      const created = kafka.admin();
      admin = created.connect().then(() => created);
      admin.catch(() => (admin = undefined));
    }
    const connected = await admin;
    const unknown = topics.filter((t) => !known.has(t));
    if (unknown.length > 0) {
      await connected.fetchTopicMetadata({ topics: unknown });
      for (const t of unknown) known.add(t);
    }
    return connected;
  };
  /** The group's committed positions of `topics`' partitions, with each one's seq (committed-offsets.ts). */
  const fetchCommitted = async (topics: readonly string[]) => {
    const offsets = await (await offsetsReader(topics)).fetchOffsets({ groupId, topics: [...topics] });
    return offsets.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset, metadata: p.metadata })));
  };


  /** What the group has committed on the positions' topics of their index, noted. */
  const readBack = async (positions: readonly CommitPosition[]) => {
    const { partition } = positions[0]!;
    for (const c of await fetchCommitted([...new Set(positions.map((p) => p.topic))])) if (c.partition === partition) committed.note(c.topic, c.partition, c.offset, seqOf(c.metadata), txnOf(c.metadata));
  };
  /**
   * Per index, the positions of a transaction whose commit's outcome could not be settled (the
   * broker still away): read back before the index's next transaction, so that its outboxes know
   * whether that one sent what they hold (outbox.ts) and a retry does not send it again.
   */
  const unsettled = new Map<number, readonly CommitPosition[]>();

  /**
   * After a commit that failed with its outcome unknown (a timeout, a lost connection): settles
   * it (reopen), then reads what the group has committed. Covered: the transaction committed, and
   * the caller goes on as after a commit. Otherwise it aborted, and the caller redoes the batch,
   * whose new transaction sends the outbox again.
   */
  const settleUncertainCommit = async (positions: readonly CommitPosition[], stale: Promise<Producer>, err: unknown): Promise<boolean> => {
    const { partition } = positions[0]!;
    logger?.warn({ err, partition, positions: positions.map((p) => `${p.topic}@${p.offset}`) }, 'transaction commit failed with its outcome unknown; settling it');
    try {
      await producers.reopen(partition, stale);
      await producers.whenOpen(partition);
      await readBack(positions);
    } catch (settleErr) {
      unsettled.set(partition, positions);
      throw settleErr;
    }
    return committedAsOne(positions);
  };
  /**
   * Whether the transaction of these positions committed, as read back: they committed together
   * or not at all, and the offsets must name it, not merely cover it (an offset at or past them may
   * be another transaction's). Positions without a transaction id (tests of offsets alone) are
   * judged by the offsets.
   */
  const committedAsOne = (positions: readonly CommitPosition[]): boolean => {
    const { partition, txn } = positions[0]!;
    return txn === undefined ? positions.every((p) => committed.covers({ ...p, txn: '' })) : committed.named(partition, txn);
  };

  /**
   * Per index, per topic-partition: the furthest position a transaction that sent nothing left
   * uncommitted (`within`'s `deferIfNothingSent`), until a transaction of the index commits it.
   * Only positions past what the group has: committing one at or before it (a timer pass's seq
   * at the same offset) would move the group back.
   */
  const deferredOf = new Map<number, Map<string, CommitPosition>>();
  const defer = (positions: readonly CommitPosition[]) => {
    for (const p of positions) {
      if (committed.covers({ txn: '', topic: p.topic, partition: p.partition, offset: p.offset })) continue;
      let held = deferredOf.get(p.partition);
      if (!held) deferredOf.set(p.partition, (held = new Map()));
      const earlier = held.get(p.topic);
      if (!earlier || BigInt(earlier.offset) < BigInt(p.offset)) held.set(p.topic, { topic: p.topic, partition: p.partition, offset: p.offset });
    }
  };
  /** The index's deferred positions the group has not reached yet (a commit drops the rest). */
  const stillDeferred = (partition: number): CommitPosition[] => {
    const held = deferredOf.get(partition);
    if (!held) return [];
    for (const [topic, p] of held) if (committed.covers({ txn: '', ...p })) held.delete(topic);
    if (held.size === 0) deferredOf.delete(partition);
    return [...held.values()];
  };

  /**
   * Who holds the index, as `stillOwns` says: 'unknown' without it or when asking fails (Redis
   * away). A fenced error is the broker's own abort only if 'owned'; a producer is dropped rather
   * than reopened only if 'lost', or after a fence unless 'owned' (reopening would fence a newer
   * owner's open transaction in turn, and dropping on a mere failure to ask would stop the index
   * here until the next assignment).
   */
  const ownership = async (partition: number): Promise<'owned' | 'lost' | 'unknown'> => {
    if (!options.stillOwns) return 'unknown';
    try {
      return (await options.stillOwns(partition)) ? 'owned' : 'lost';
    } catch (err) {
      logger?.warn({ err, partition }, 'could not tell whether this instance still owns the index');
      return 'unknown';
    }
  };

  /** Nothing more goes out from here for the index until the next assignment. */
  const dropIndex = (partition: number): void => {
    producers.drop(partition);
    deferredOf.delete(partition);
  };

  /**
   * One transaction of the positions' partition index's producer; the caller holds the index's
   * lock. `always`: it commits, so its offsets are sent while `work` runs. `if-sent`: it commits
   * only if `work` sends something, its offsets added as that first send goes; otherwise it ends
   * with nothing sent to the broker and `committed` is false.
   */
  const transact = async <T>(positions: readonly CommitPosition[], work: (sender: MessageSender) => Promise<T>, commit: 'always' | 'if-sent'): Promise<{ result: T; committed: boolean }> => {
    const position = positions[0];
    if (!position || positions.some((p) => p.partition !== position.partition)) throw new Error('a transaction commits positions of one partition index');
    const producer = producers.get(position.partition);
    if (!producer) throw transactionNotCommitted(new ReeError('REE_ERR_FENCED', `partition ${position.partition} is not assigned to this instance (or a newer owner has fenced it)`, { retriable: false }));
    let txn: Transaction | undefined;
    let result: T | undefined;
    /** Set once the commit is sent: from then on a failure may hide a commit that went through. */
    let committing = false;
    try {
      // A producer whose reopening failed is reopened again, and this attempt fails (the caller retries).
      const ready = await producers.whenOpen(position.partition, producer);
      // Its positions (a timer pass's seq, a redone batch's offsets) may be what that one committed.
      if (unsettled.has(position.partition)) throw new ReeError('REE_ERR_KAFKA', `partition index ${position.partition} has a commit not settled yet; settle it first`, { retriable: true });
      txn = await ready.transaction();
      const offsets = {
        consumerGroupId: groupId,
        topics: positions.map((p) => {
          const metadata = offsetMetadata(p.seq ?? 0, p.txn);
          return { topic: p.topic, partitions: [{ partition: p.partition, offset: p.offset, ...(metadata ? { metadata } : {}) }] };
        }),
      };
      const current = txn;
      // Right after the previous commit the coordinator may still be writing its markers and
      // answers CONCURRENT_TRANSACTIONS; kafkajs does not retry that here, and redoing the whole
      // batch for it would cost far more than a short wait.
      const sendOffsets = () => retry(() => current.sendOffsets(offsets), { retries: 8, minDelayMs: 20, maxDelayMs: 500, isRetriable: isConcurrentTransactions });
      // Offsets are part of the transaction only if it commits, so when they are added does not
      // matter: a transaction that always commits adds them while `work` runs, so their round
      // trips (coordinator lookups, AddOffsetsToTxn, TxnOffsetCommit) overlap the work instead of
      // following it. One that commits only if it sends adds them at its first send, and that
      // send waits for them: the coordinator takes one change of a transaction at a time, and an
      // AddPartitionsToTxn sent alongside an AddOffsetsToTxn is refused with CONCURRENT_TRANSACTIONS,
      // which kafkajs's producer retries only after ~250 ms.
      let offsetsAdded: Promise<void> | undefined;
      const addOffsets = (): Promise<void> => {
        if (!offsetsAdded) {
          offsetsAdded = sendOffsets();
          offsetsAdded.catch(() => undefined);
        }
        return offsetsAdded;
      };
      if (commit === 'always') void addOffsets();
      const sends = noteFailedSends(current);
      const sender: MessageSender =
        commit === 'always'
          ? sends
          : {
              send: async (record) => {
                await addOffsets();
                return sends.send(record);
              },
            };
      try {
        result = await work(sender);
      } catch (err) {
        // Settled before the abort, so no request of this transaction is still on its way.
        await offsetsAdded?.catch(() => undefined);
        throw err;
      }
      if (!offsetsAdded) {
        // Nothing produced and no offsets added: kafkajs ends it without asking the broker.
        await txn.abort();
        return { result, committed: false };
      }
      await offsetsAdded;
      committing = true;
      await txn.commit();
      for (const p of positions) committed.note(p.topic, p.partition, p.offset, p.seq, p.txn);
      return { result, committed: true };
    } catch (err) {
      if (isFencedError(err) && (await ownership(position.partition)) === 'owned') {
        // Nobody else has taken the index: the broker itself aborted the transaction (it outlived
        // transactionTimeoutMs). A new producer of the same id works again; the caller redoes the
        // batch in a new transaction, which sends the outbox again (its entries' tag did not commit).
        logger?.warn({ err, partition: position.partition }, 'transaction aborted by the broker while this instance still owns the index; reopening its producer');
        await producers.reopen(position.partition, producer).catch((openErr: unknown) => logger?.warn({ err: openErr }, 'could not reopen the transactional producer; the next transaction tries again'));
        const aborted = new ReeError('REE_ERR_KAFKA', `the transaction of partition ${position.partition} was aborted by the broker; its producer is reopened`, { cause: err, retriable: true });
        throw committing ? aborted : transactionNotCommitted(aborted);
      }
      if (isFencedError(err)) {
        // Another instance owns the index now.
        dropIndex(position.partition);
        const fenced = new ReeError('REE_ERR_FENCED', `the transactional producer of partition ${position.partition} was fenced by a newer owner`, { cause: err, retriable: false });
        // Fenced while committing, the newer owner's producer may have completed the commit.
        throw committing ? fenced : transactionNotCommitted(fenced);
      }
      if (committing) {
        // A failed settle (the broker still away) leaves the outcome unknown: that error goes up unmarked.
        if (await settleUncertainCommit(positions, producer, err)) return { result: result as T, committed: true };
        throw transactionNotCommitted(
          new ReeError('REE_ERR_KAFKA', `the transaction committing ${positions.map((p) => `${p.topic}/${p.partition} at ${p.offset}`).join(', ')} did not commit`, { cause: err, retriable: true }),
        );
      }
      let dropped = false;
      if (txn?.isActive()) {
        await txn.abort().catch(async (abortErr: unknown) => {
          const owner = await ownership(position.partition);
          // Fenced and not provably still ours: a newer owner's producer has the id (a paused
          // instance, resumed, finds its work refused).
          if (owner === 'lost' || (isFencedError(abortErr) && owner !== 'owned')) {
            dropIndex(position.partition);
            dropped = true;
            return;
          }
          logger?.warn({ err: abortErr }, 'could not abort a transaction; reopening the producer aborts it');
          await producers.reopen(position.partition, producer).catch((openErr: unknown) => logger?.warn({ err: openErr }, 'could not reopen the transactional producer; the next transaction tries again'));
        });
      }
      if (!dropped && txn && sendFailed(txn)) {
        if ((await ownership(position.partition)) === 'lost') dropIndex(position.partition);
        else {
          logger?.warn({ err, partition: position.partition }, 'a send of an aborted transaction failed or was still on its way; reopening its producer so that the redo is not taken for it');
          await producers.reopen(position.partition, producer).catch((openErr: unknown) => logger?.warn({ err: openErr }, 'could not reopen the transactional producer; the next transaction tries again'));
        }
      }
      // Its commit was never sent: it cannot have committed.
      throw transactionNotCommitted(err);
    }
  };

  return {
    committed,
    async assign(partitions, topics) {
      const opening = producers.assign(partitions);
      // Connecting the admin and learning the topics' partitions fence nothing, so they go while the
      // producers open; only the offset fetch itself must wait for the fencing (join → first batch
      // spent ~0.5 s here doing them one after another, with a fresh admin on every assignment).
      const reader = topics.length === 0 ? undefined : offsetsReader(topics);
      reader?.catch(() => undefined);
      await opening;
      if (!reader) return;
      await reader;
      committed.reset(await fetchCommitted(topics));
      // The consumer reads on from the group's offsets after a join: what was deferred is redelivered.
      deferredOf.clear();
      // The new producers have finished every earlier transaction, and the offsets read say how.
      unsettled.clear();
    },
    unsettled: (partition) => unsettled.has(partition),
    async settle(partition) {
      const earlier = unsettled.get(partition);
      if (!earlier) return undefined;
      await producers.whenOpen(partition);
      await readBack(earlier);
      unsettled.delete(partition);
      return { txn: earlier[0]!.txn ?? '', committed: committedAsOne(earlier) };
    },
    within(position, work, afterCommit, options) {
      const positions = [position].flat();
      const partition = positions[0]?.partition;
      return lock.with(positions.slice(0, 1).map((p) => p.partition), async () => {
        // What earlier passes of the index left uncommitted goes with this one, under its id.
        const own = new Set(positions.map((p) => p.topic));
        const carried = partition === undefined ? [] : stillDeferred(partition).filter((p) => !own.has(p.topic)).map((p) => ({ ...p, txn: positions[0]!.txn }));
        const { result, committed: done } = await transact([...positions, ...carried], (sender) => work(sender), options?.deferIfNothingSent ? 'if-sent' : 'always');
        if (!done) {
          defer(positions);
          return result;
        }
        await afterCommit?.(result);
        return result;
      });
    },
    deferred: (partition) => producers.get(partition) !== undefined && stillDeferred(partition).length > 0,
    forgetDeferred: () => deferredOf.clear(),
    withinTimers(partition, work, afterCommit) {
      return lock.with([partition], async () => {
        const txn = randomUUID();
        const held = stillDeferred(partition);
        if (held.length > 0) {
          // A flush: the deferred positions commit, with whatever the pass sends tagged with the first.
          const positions = held.map((p) => ({ ...p, txn }));
          const at = positions[0]!;
          const { result } = await transact(positions, (sender) => work(sender, at), 'always');
          if (result.length > 0) await afterCommit?.(result, at);
          return result;
        }
        const at = committed.timerPosition(partition);
        if (!at) return undefined;
        const position = { ...at, txn };
        const { result, committed: done } = await transact([position], (sender) => work(sender, position), 'if-sent');
        if (done && result.length > 0) await afterCommit?.(result, position);
        return result;
      });
    },
    async close() {
      const opened = admin;
      admin = undefined;
      await Promise.all([producers.close(), opened?.then((a) => a.disconnect()).catch(() => undefined)]);
    },
  };
}
