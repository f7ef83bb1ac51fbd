/**
 * One batch of one report topic-partition: decode and validate every record (a step of its own, so
 * the consumer can align topics on the reports' times before it decides how much of the batch to
 * take), dead-letter the bad ones, run the good ones through the pipeline, publish the alerts, and
 * only then say the batch is done (the caller commits). Every durable step is idempotent, so a retry or a redelivery after a
 * crash at any point repeats nothing visible.
 */
import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import type { ReportTopicKind } from '../config/topics.ts';
import type { DecodeOutcome, Decoder } from '../codec/decode.ts';
import type { Alert, Report } from '../domain/events.ts';
import { recordEnvelopeError } from '../domain/record-envelope.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import type { Pipeline, ReportOrigin } from '../pipeline/pipeline.ts';
import type { AlertSink } from '../producers/alert-sink.ts';
import { logDeadLetters, type DeadLetter, type DeadLetterSink } from '../producers/dead-letter-sink.ts';
import type { OutputTransactions } from '../producers/output-transactions.ts';
import type { MessageSender } from '../kafka/send-in-chunks.ts';
import { isTransactionNotCommitted } from '../kafka/transaction-errors.ts';
import { settleHeldTxn, type TxnJournal } from './txn-journal.ts';

export interface RawRecord {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders | undefined;
  offset: string;
  /** The record's timestamp (ms, as kafkajs gives it); absent: not known. */
  timestamp?: string | undefined;
}

export interface BatchDeps {
  decoder: Decoder;
  pipeline: Pipeline;
  alerts: AlertSink;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
  logger?: Logger | undefined;
  /** The partitions this instance owns, whose producers' timers it fires after a batch (default: the batch's own). */
  ownedPartitions?: (() => readonly number[]) | undefined;
  /**
   * Exactly-once output: the batch's alerts and dead letters go out, and its offsets are committed,
   * in one Kafka transaction (the caller then must not commit them), sent through the sinks these
   * build around it. Without it, alerts and dead letters go through `alerts` and `deadLetters` and
   * the caller commits. With a journal, what a transaction sends is held in it until marked
   * published (txn-journal.ts), so a crash between the commit and the marks loses no mark.
   */
  transactional?:
    | { transactions: OutputTransactions; sinks: (sender: MessageSender) => { alerts: AlertSink; deadLetters: DeadLetterSink }; journal?: TxnJournal | undefined }
    | undefined;
  /**
   * Whether batches run one at a time (REE_CONCURRENCY 1). Only then does a transaction also fire
   * the timers of the other partitions this instance owns (see inTransaction).
   */
  sequential?: boolean | undefined;
  /**
   * Whether a transaction that sends nothing leaves its offsets to the index's next one that does
   * (REE_COMMIT_INTERVAL_MS above 0; output-transactions.ts `within`, report-consumer.ts flushes).
   */
  deferCommits?: boolean | undefined;
  /** The wall clock, for refusing a report reported after it was read (record-envelope.ts). Date.now by default. */
  now?: (() => number) | undefined;
}

export interface BatchOutcome {
  reports: number;
  alerts: Alert[];
  deadLetters: DeadLetter[];
  /**
   * Whether the pass's transaction committed: false when it sent nothing and left its offsets to a
   * later transaction (deferCommits), or found them committed already.
   */
  committed: boolean;
}

export interface ReportBatch {
  kind: ReportTopicKind;
  topic: string;
  partition: number;
  records: RawRecord[];
}

const retryLogger = (logger: Logger | undefined, batch: ReportBatch) => (err: unknown, attempt: number) =>
  logger?.warn({ err, attempt, topic: batch.topic, partition: batch.partition }, 'retrying batch step');

/** Decodes and validates every record of the batch; bad ones come back as `ok: false` in place. */
export async function decodeReportBatch(deps: Pick<BatchDeps, 'decoder' | 'logger' | 'now'>, batch: ReportBatch): Promise<DecodeOutcome<Report>[]> {
  const { decoder } = deps;
  const decoded = await retry(() => decoder.decodeReports(batch.kind, batch.records.map((r) => r.value)), { onRetry: retryLogger(deps.logger, batch) });
  const readAt = (deps.now ?? Date.now)();
  return decoded.map((outcome, i): DecodeOutcome<Report> => {
    if (!outcome.ok) return outcome;
    const record = batch.records[i]!;
    const error = recordEnvelopeError({ key: record.key?.toString() ?? null, readAt, keyRequired: true }, outcome.value);
    return error ? { ok: false, error } : outcome;
  });
}

/**
 * Event times of decoded records, for aligning topics: a report's occurredAt; -Infinity for a bad
 * record, which has no time of its own and is dead-lettered with the reports around it.
 */
export function eventTimesOf(outcomes: readonly DecodeOutcome<Report>[]): number[] {
  return outcomes.map((o) => (o.ok ? o.value.event.occurredAt : Number.NEGATIVE_INFINITY));
}

/** A batch taken to be processed, with decodeReportBatch's outcome for its records (index-aligned). */
export interface TakenBatch {
  batch: ReportBatch;
  decoded: readonly DecodeOutcome<Report>[];
}

/**
 * Batches of one partition index (the report topics' batches of it that one fetch brought, in the
 * order given) as one: their reports in one pipeline run, and with transactional output one Kafka
 * transaction that commits every batch's offsets. What a batch costs beyond its reports (the state
 * load and save, the timer look, the transaction's round trips) is then paid once per index and
 * fetch, not once per topic-partition.
 */
export async function handleReportBatches(deps: BatchDeps, batches: readonly TakenBatch[]): Promise<BatchOutcome> {
  const { pipeline, logger, metrics } = deps;
  const first = batches[0]?.batch;
  if (!first || batches.some(({ batch }) => batch.partition !== first.partition)) throw new Error('handleReportBatches: batches of one partition index');
  const onRetry = retryLogger(logger, first);
  const reports: Report[] = [];
  const deadLetters: DeadLetter[] = [];
  for (const { batch, decoded } of batches) {
    decoded.forEach((outcome, i) => {
      const record = batch.records[i]!;
      if (outcome.ok) reports.push(outcome.value);
      else deadLetters.push({ key: record.key, value: record.value, headers: record.headers, error: outcome.error, topic: batch.topic, partition: batch.partition, offset: record.offset });
    });
  }

  // The watermark source is the partition number (one group of producers across the four
  // co-partitioned report topics), as replay names a recorded line's; see replay.ts originOf.
  const origin = { source: `p${first.partition}`, partition: first.partition };
  const origins = reports.map(() => origin);
  const owned = deps.ownedPartitions?.() ?? [first.partition];
  const { alerts, committed } = deps.transactional ? await inTransaction(deps, deps.transactional, batches.map(({ batch }) => batch), reports, origins, deadLetters) : await pipeline.gate.shared(async () => {
    const found = await retry(() => pipeline.process(reports, origins), { onRetry });
    await retry(() => deps.alerts.publish(found), { onRetry });
    await retry(() => deps.deadLetters.send(deadLetters), { onRetry });
    await retry(() => pipeline.markPublished(found), { onRetry });
    // The batch may have moved the watermark: fire what it passed, on every partition owned here,
    // so a silent producer's timer fires too.
    const fired = await retry(() => pipeline.fireTimers(owned.length > 0 ? owned : [first.partition]), { onRetry });
    await retry(() => deps.alerts.publish(fired), { onRetry });
    await retry(() => pipeline.markPublished(fired), { onRetry });
    return { alerts: [...found, ...fired], committed: true };
  });

  for (const { batch } of batches) metrics?.events.inc({ topic: batch.topic }, batch.records.length);
  for (const a of alerts) metrics?.alerts.inc({ rule: a.ruleId, severity: a.severity });
  for (const d of deadLetters) metrics?.deadLetters.inc({ topic: d.topic, code: d.error.code });
  logDeadLetters(logger, deadLetters);
  return { reports: reports.length, alerts, deadLetters, committed };
}

/**
 * The batches of one partition index in one transaction: their state (with the outbox tagged with
 * the transaction) is saved, then the outbox's alerts and the dead letters are produced and every
 * batch's offsets committed together. A crash before the commit leaves the transaction to be
 * aborted; the redelivered batches find their reports applied and re-send the outbox under a new
 * transaction. The outbox entries are tagged with the first batch's position: the transaction
 * commits all of them or none. Timers fire for the batches' own partition only: their alerts must
 * go out with an offset of the partition whose producers hold them, so that whoever commits past
 * it has re-sent them (outbox.ts). What the transaction sends is held in the journal before the
 * commit, whose offsets name the transaction, and marked published and released after it
 * (txn-journal.ts): a crash in between leaves the marks to the index's next owner.
 */
async function inTransaction(
  deps: BatchDeps,
  transactional: NonNullable<BatchDeps['transactional']>,
  batches: readonly ReportBatch[],
  reports: Report[],
  origins: ReportOrigin[],
  deadLetters: DeadLetter[],
): Promise<{ alerts: Alert[]; committed: boolean }> {
  const { pipeline } = deps;
  const onRetry = retryLogger(deps.logger, batches[0]!);
  /** Set when an attempt's transaction has committed (a pass that sent nothing may defer its offsets). */
  let committed = false;
  /** One attempt: a transaction of its own id, committing every batch's offsets. */
  const attempt = async (txn: string): Promise<Alert[]> => {
    const all = batches.map((batch) => ({ topic: batch.topic, partition: batch.partition, offset: (BigInt(batch.records[batch.records.length - 1]!.offset) + 1n).toString(), txn }));
    await settleIndex(pipeline, transactional, all[0]!.partition);
    // Only positions past what the group has are committed, and the outbox is tagged with one of
    // them: a tag already covered would count an entry sent in a transaction that may never
    // commit as published, and committing it would move the group's offset back. Covered:
    // the unsettled transaction was this very batch's and committed (it sent what the batch
    // found), or an earlier owner's last commit landed after the consumer read the group's
    // offsets at the join (its reports are applied already; the batch repeats them harmlessly).
    const positions = all.filter((p) => !transactional.transactions.committed.covers(p));
    const sending = positions[0];
    if (!sending) return [];
    const hold = new AttemptHold(transactional);
    const work = async (sender: MessageSender): Promise<Alert[]> => {
      const found = await pipeline.process(reports, origins, sending);
      // One batch at a time: no other transaction of this instance is open while this one
      // sends what another partition's timers find, so the outbox's "committed yet?" (which
      // knows every partition's committed offset since the assignment) stays exact, and a
      // partition that gets no more reports still has its timers fired. With batches running
      // at once, only the batch's own partition: two open transactions could both send one
      // entry. Then an idle partition's timers wait for its next batch (README, issue 8).
      // An owned index with a commit not settled yet is left to its own next transaction, which
      // settles it first: its outboxes cannot yet tell what that commit sent.
      const others = (deps.ownedPartitions?.() ?? []).filter((p) => !transactional.transactions.unsettled(p));
      const partitions = deps.sequential ? [...new Set([sending.partition, ...others])] : [sending.partition];
      const fired = await pipeline.fireTimers(partitions, sending);
      const out = transactional.sinks(sender);
      const sent = [...found, ...fired];
      await Promise.all([hold.hold(sending, sent), out.alerts.publish(sent).then(() => out.deadLetters.send(deadLetters))]);
      return sent;
    };
    const afterCommit = (sent: Alert[]) => {
      committed = true;
      return hold.committed(() => markCommitted(pipeline, transactional, sending, sent, onRetry));
    };
    return hold.unlessCommitted(() => transactional.transactions.within(positions, work, afterCommit, { deferIfNothingSent: deps.deferCommits === true }));
  };
  // The gate per attempt, not around the retries: between two attempts (one waiting out a claim
  // the watchlist path holds, pipeline.ts) a watchlist batch of this instance may settle or go.
  const alerts = await retry(() => pipeline.gate.shared(() => attempt(randomUUID())), { onRetry });
  return { alerts, committed };
}

/**
 * An index whose last commit's outcome could not be settled (the broker away) is settled before
 * its next transaction (output-transactions.ts `settle`): the alerts that transaction held in the
 * journal are marked if it committed, and its hold is released either way. Until then the
 * index's outboxes cannot tell what it sent, and a transaction of the index would send it again.
 */
async function settleIndex(pipeline: Pipeline, transactional: NonNullable<BatchDeps['transactional']>, partition: number): Promise<void> {
  if (!transactional.transactions.unsettled(partition)) return;
  const settled = await transactional.transactions.settle(partition);
  const { journal } = transactional;
  if (!settled || !journal) return;
  const held = (await journal.held(partition)).get(settled.txn);
  if (held) await settleHeldTxn(journal, partition, settled.txn, held, settled.committed, (alerts) => pipeline.markPublished(alerts));
}

/**
 * One transaction attempt's journal hold (txn-journal.ts): what the transaction sends, held before
 * its commit. An attempt known not to have committed (the transactions mark such errors,
 * transaction-errors.ts) has its hold released at once: its alerts are still in their producers'
 * outboxes and go out in the next transaction, and a hold left for the index's next owner to
 * settle only kept the watchlist path reading it (other-path-holds.ts) until then. A commit whose
 * outcome stayed unknown, or one that went through and failed after (its marks), keeps its hold
 * for that owner, who reads the outcome from the group's offsets.
 */
class AttemptHold {
  private held: { partition: number; txn: string } | undefined;

  constructor(private readonly transactional: NonNullable<BatchDeps['transactional']>) {}

  async hold(at: { partition: number; txn: string }, sent: readonly Alert[]): Promise<void> {
    const { journal } = this.transactional;
    if (sent.length === 0 || !journal) return;
    this.held = at;
    await journal.hold(at.partition, at.txn, sent);
  }

  /** The commit went through: the marks release the hold from here on. */
  committed<T>(then: () => Promise<T>): Promise<T> {
    this.held = undefined;
    return then();
  }

  async unlessCommitted<T>(attempt: () => Promise<T>): Promise<T> {
    try {
      return await attempt();
    } catch (err) {
      const at = this.held;
      if (at && isTransactionNotCommitted(err)) await this.transactional.journal?.release(at.partition, at.txn).catch(() => undefined);
      throw err;
    }
  }
}

/**
 * After the commit, while the index's lock is held: marks what the transaction sent, then releases
 * it from the journal. The markers are no longer what keeps a report batch's alerts from going out
 * twice (the transaction and the outbox's tags are); they keep a watchlist change, whose
 * retro-screening is no producer's batch, from publishing again what a batch has published. Inside
 * the publish gate, so no watchlist change comes between the commit and the mark.
 */
async function markCommitted(
  pipeline: Pipeline,
  transactional: NonNullable<BatchDeps['transactional']>,
  at: { partition: number; txn: string },
  sent: Alert[],
  onRetry: (err: unknown, attempt: number) => void,
): Promise<void> {
  if (sent.length === 0) return;
  await retry(() => pipeline.markPublished(sent), { onRetry });
  const { journal } = transactional;
  if (journal) await retry(() => journal.release(at.partition, at.txn), { onRetry });
}

/**
 * A timer pass of a partition index that gets no batch (idle-timers.ts), in a transaction of that
 * index's producer of its own: it commits the index's committed offset again with the next seq
 * (committed-offsets.ts), and the outbox entries it sends are tagged with that (offset, seq), so
 * they count as published exactly when it has committed. Every transaction of an index, batch or
 * timer pass, takes the index's lock and hands out every entry the index's producers still hold,
 * as a batch's does. At concurrency 1 the caller runs it between batches (a batch's transaction
 * sends other partitions' timer findings). Returns the alerts sent; nothing while the index has
 * nothing committed yet (its first batch fires its timers).
 */
export async function fireIdlePartition(deps: Pick<BatchDeps, 'pipeline' | 'logger' | 'transactional'>, partition: number): Promise<Alert[]> {
  const { pipeline, transactional } = deps;
  if (!transactional) throw new Error('fireIdlePartition: only with transactional output');
  const onRetry = (err: unknown, attempt: number) => deps.logger?.warn({ err, attempt, partition }, 'retrying an idle partition timer pass');
  return retry(
    () =>
      pipeline.gate.shared(async () => {
        await settleIndex(pipeline, transactional, partition);
        const hold = new AttemptHold(transactional);
        const fired = await hold.unlessCommitted(() =>
          transactional.transactions.withinTimers(
            partition,
            async (sender, position) => {
              const found = await pipeline.fireTimers([partition], position);
              await Promise.all([hold.hold(position, found), transactional.sinks(sender).alerts.publish(found)]);
              return found;
            },
            (found, position) => hold.committed(() => markCommitted(pipeline, transactional, position, found, onRetry)),
          ),
        );
        return fired ?? [];
      }),
    { onRetry },
  );
}
