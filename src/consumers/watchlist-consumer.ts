/**
 * Reads the compacted watchlist topic into the shared state store (a tombstone deletes), and
 * screens each new or changed entry against the clients already seen, publishing what it finds.
 * Like the licence register, the watchlist is loaded before reports are consumed.
 *
 * Live (with `transactional`), a batch's alerts and dead letters are produced, and its offset
 * committed, in one Kafka transaction of the partition's own producer (reference-transactions.ts):
 * a read_committed reader sees them once, whatever crash comes between. Then they are marked
 * published, which keeps a report batch from publishing the same finding again; the journal
 * (txn-journal.ts) covers a crash between that commit and the marks, and a claim on each
 * watchlist-match (pipeline.ts claim) a report transaction finding it at the same moment on
 * another instance. Without it (tests over
 * a fake Kafka), alerts durable first, then marked published, then the offset: at least once.
 */
import { randomUUID } from 'node:crypto';
import type { Batch } from 'kafkajs';
import type { Decoder } from '../codec/decode.ts';
import type { Alert, WatchlistEntry } from '../domain/events.ts';
import { ReeError } from '../errors.ts';
import type { MessageSender } from '../kafka/send-in-chunks.ts';
import { isTransactionNotCommitted } from '../kafka/transaction-errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { defaultIsRetriable, retry } from '../ops/retry.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { AlertSink } from '../producers/alert-sink.ts';
import { logDeadLetters, type DeadLetter, type DeadLetterSink } from '../producers/dead-letter-sink.ts';
import { createReferenceTransactions, type CommittedAt } from '../producers/reference-transactions.ts';
import { latestRecords } from './latest-records.ts';
import { createCompactedTopicConsumer, type CompactedTopicConsumer, type CompactedTopicConsumerDeps } from './compacted-topic-consumer.ts';
import { settleHeld, settleHeldTxn, type TxnJournal } from './txn-journal.ts';

export interface WatchlistConsumerDeps extends CompactedTopicConsumerDeps {
  decoder: Decoder;
  pipeline: Pipeline;
  alerts: AlertSink;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
  /** Exactly-once output: sinks that send through a transaction, and the journal of transactions not yet marked. */
  transactional?: { journal: TxnJournal; sinks: (sender: MessageSender) => { alerts: AlertSink; deadLetters: DeadLetterSink } } | undefined;
}

export type WatchlistConsumer = CompactedTopicConsumer;

const isFenced = (err: unknown) => err instanceof ReeError && err.code === 'REE_ERR_FENCED';

export function createWatchlistConsumer(deps: WatchlistConsumerDeps): WatchlistConsumer {
  const onRetryOf = (batch: Pick<Batch, 'topic' | 'partition'>) => (err: unknown, attempt: number) =>
    deps.logger.warn({ err, attempt, topic: batch.topic, partition: batch.partition }, 'retrying watchlist batch step');

  /** The batch's records decoded, each entry as its last record leaves it, and what goes to the dead-letter topic. */
  const changesOf = async (batch: Pick<Batch, 'topic' | 'partition' | 'messages'>) => {
    const decoded = await retry(() => deps.decoder.decodeBatch(batch.messages.map((m) => m.value), (value) => deps.decoder.decodeWatchlistEntry(value)), { onRetry: onRetryOf(batch) });
    const { latest, dead } = latestRecords<WatchlistEntry>(batch, decoded, 'entryId', (e) => e.entryId);
    return { changes: [...latest].map(([entryId, entry]) => ({ entryId, entry })), dead };
  };

  const counted = (batch: Pick<Batch, 'topic'>, records: number, found: readonly Alert[], dead: readonly DeadLetter[]) => {
    deps.metrics?.events.inc({ topic: batch.topic }, records);
    for (const a of found) deps.metrics?.alerts.inc({ rule: a.ruleId, severity: a.severity });
    for (const d of dead) deps.metrics?.deadLetters.inc({ topic: batch.topic, code: d.error.code });
    logDeadLetters(deps.logger, dead);
  };

  const { transactional } = deps;
  if (!transactional) {
    return createCompactedTopicConsumer(deps, 'watchlist', async (batch) => {
      const onRetry = onRetryOf(batch);
      const { changes, dead } = await changesOf(batch);
      const found = await deps.pipeline.gate.exclusive(async () => {
        const alerts = await retry(() => deps.pipeline.applyWatchlist(changes), { onRetry });
        await retry(() => deps.alerts.publish(alerts), { onRetry });
        await retry(() => deps.deadLetters.send(dead), { onRetry });
        await retry(() => deps.pipeline.markPublished(alerts), { onRetry });
        return alerts;
      });
      counted(batch, batch.messages.length, found, dead);
    });
  }

  const { journal, sinks } = transactional;
  const transactions = createReferenceTransactions({ kafka: deps.kafka, admin: deps.admin, groupId: deps.groupId, topic: deps.topic, logger: deps.logger });
  /** What the group had committed when this member took its partitions (after fencing), moved by each commit. */
  let committed = new Map<number, CommittedAt>();

  const markPublished = (alerts: Alert[]) => deps.pipeline.markPublished(alerts);
  /** What a watchlist transaction that never committed claimed (pipeline.ts claim), let go. */
  const letGoOfClaims = (alerts: Alert[], txn: string, partition: number) => deps.pipeline.releaseClaims(alerts, { path: 'watchlist', txn, partition });
  /**
   * Settles what the journal holds for these partitions against the group's offsets `now` (read
   * after fencing, or after an unsettled commit was finished), and takes `now` as where they stand.
   * Alone, as a watchlist batch: no report batch asks "published yet?" before these are marked.
   * The transaction the offset came from committed its held alerts; any other held one never did,
   * and lets go of its claims (pipeline.ts claim).
   */
  const settle = async (partitions: readonly number[], now: Map<number, CommittedAt>) => {
    await deps.pipeline.gate.exclusive(() => settleHeld(journal, partitions, (p, txn) => now.get(p)?.txn === txn, markPublished, letGoOfClaims));
    for (const p of partitions) {
      const at = now.get(p);
      if (at) committed.set(p, at);
      else committed.delete(p);
    }
  };

  const frame = createCompactedTopicConsumer(deps, 'watchlist', {
    async onAssigned(partitions) {
      const now = await transactions.assign(partitions);
      committed = new Map();
      await settle(partitions, now);
    },
    async handle(batch) {
      const onRetry = onRetryOf(batch);
      // A commit whose outcome could not be settled (the broker away) may have committed records
      // of this batch: what the group has committed is read first, as on an assignment. Retried
      // in place instead, the batch would send again what that transaction may have sent.
      if (transactions.unsettled(batch.partition)) {
        await retry(async () => settle([batch.partition], await transactions.settle(batch.partition)), { onRetry });
        // Only once the journal is settled and the committed offset taken: a failure before this
        // leaves the partition to be settled again by the batch's next delivery.
        transactions.settled(batch.partition);
      }
      // The group's offset may be past what kafkajs fetched from before the fencing: an earlier
      // owner's last transaction committed meanwhile. Its records are not applied twice.
      const from = committed.get(batch.partition)?.offset ?? -1n;
      const messages = batch.messages.filter((m) => BigInt(m.offset) >= from);
      if (messages.length === 0) return true;
      const { changes, dead } = await changesOf({ topic: batch.topic, partition: batch.partition, messages });
      const next = (BigInt(batch.lastOffset()) + 1n).toString();
      try {
        const found = await deps.pipeline.gate.exclusive(async () => {
          const alerts = await retry(() => deps.pipeline.applyWatchlist(changes), { onRetry });
          const { txn, sent } = await retry(
            async () => {
              const id = randomUUID();
              const claimant = { path: 'watchlist', txn: id, partition: batch.partition } as const;
              // Held before the claims, so a crash after a claim leaves its transaction held for the
              // next owner, which lets go of what it claimed. A watchlist-match the report path has
              // claimed is that path's to send (pipeline.ts claim); the hold is narrowed to match.
              let sent = alerts;
              if (alerts.length > 0) {
                await journal.hold(batch.partition, id, alerts);
                sent = await deps.pipeline.claim(alerts, claimant);
                if (sent.length < alerts.length) await (sent.length > 0 ? journal.hold(batch.partition, id, sent) : journal.release(batch.partition, id));
              }
              try {
                await transactions.commit(batch.partition, next, id, async (sender) => {
                  const out = sinks(sender);
                  await out.alerts.publish(sent);
                  await out.deadLetters.send(dead);
                });
              } catch (err) {
                // Known not to have committed (transaction-errors.ts): let go at once of what this
                // attempt claimed, so a report transaction waiting on a claim need not wait for the
                // next owner, then of its hold, which is what tells that owner to release the claims
                // (so the hold goes only once they have). The next attempt claims again. A commit
                // whose outcome is unknown keeps both for the next owner, who reads the outcome.
                if (sent.length > 0 && isTransactionNotCommitted(err)) {
                  try {
                    await settleHeldTxn(journal, batch.partition, id, sent, false, markPublished, letGoOfClaims);
                  } catch (releaseErr) {
                    deps.logger.warn({ err: releaseErr, topic: batch.topic, partition: batch.partition }, "could not let go of a failed watchlist transaction's claims; its partition's next owner does");
                  }
                }
                throw err;
              }
              return { txn: id, sent };
            },
            // Not after a commit left unsettled: the batch fails, and is fetched again and settled first.
            { onRetry, isRetriable: (err) => !isFenced(err) && !transactions.unsettled(batch.partition) && defaultIsRetriable(err) },
          );
          committed.set(batch.partition, { offset: BigInt(next), txn });
          await retry(() => deps.pipeline.markPublished(sent), { onRetry });
          if (sent.length > 0) await retry(() => journal.release(batch.partition, txn), { onRetry });
          return sent;
        });
        counted(batch, messages.length, found, dead);
        return true;
      } catch (err) {
        // A newer owner has the partition: nothing was committed here, and the rebalance hands it the batch.
        if (!isFenced(err)) throw err;
        deps.logger.warn({ topic: batch.topic, partition: batch.partition, err: (err as Error).message }, 'watchlist batch fenced off by a newer owner; not committed');
        return false;
      }
    },
  });
  return {
    ...frame,
    async stop() {
      await frame.stop();
      await transactions.close();
    },
  };
}
