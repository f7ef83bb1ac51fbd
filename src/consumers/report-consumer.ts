/**
 * The detector's main consumer group over the four report topics. kafkajs hands one
 * topic-partition batch at a time; offsets are resolved only after the batch's state, alerts and
 * dead letters are durable, so a crash means redelivery (harmless: everything is idempotent),
 * never loss.
 */
import { Semaphore } from 'async-mutex';
import { PartitionAssigners, type Admin, type Consumer, type EachBatchPayload, type Kafka } from 'kafkajs';
import { REPORT_TOPIC_KINDS, type ReportTopicKind, type TopicNames } from '../config/topics.ts';
import { CoPartitionAssigner } from '../kafka/co-partition-assigner.ts';
import { groupTiming } from '../kafka/group-timing.ts';
import type { Logger } from '../ops/logger.ts';
import type { DecodeOutcome } from '../codec/decode.ts';
import type { Report } from '../domain/events.ts';
import { ReeError } from '../errors.ts';
import { retry } from '../ops/retry.ts';
import { withDeadline } from '../ops/resources.ts';
import { EventTimeAligner, alignedPrefixLength } from './event-time-aligner.ts';
import { decodeReportBatch, eventTimesOf, fireIdlePartition, handleReportBatches, type BatchDeps, type BatchOutcome, type ReportBatch, type TakenBatch } from './handle-batch.ts';
import { createIndexGather, type GatherTicket } from './index-gather.ts';
import { settleHeld } from './txn-journal.ts';
import { createDeferredFlushes } from './deferred-flushes.ts';
import { createIdleTimerPasses, type IdleTimerOptions, type IdleTimerPasses } from './idle-timers.ts';

/** How long a batch waits for its siblings' ends to be read (confirmEnds) before it goes as it would without. */
const END_LOOK_DEADLINE_MS = 1_000;

export interface ReportConsumerDeps extends BatchDeps {
  kafka: Kafka;
  groupId: string;
  topics: TopicNames;
  concurrency: number;
  logger: Logger;
  /** How far one report topic may run ahead of its siblings in report time, occurredAt (default 6 h). */
  alignSlackMs?: number;
  /** Called when kafkajs has stopped the consumer and will not restart it. */
  onFatal?: (err: unknown) => void;
  sessionTimeoutMs?: number;
  /**
   * Called on every partition assignment with the partition indexes assigned, awaited before the
   * next batch and before their transactional producers open: renew the ownership epoch, record it
   * as the indexes' owner (index-owners.ts), and forget the producer state held in memory, so a
   * partition that comes back is reloaded with what its interim owner wrote
   * (src/state/engine/README.md, "Fencing").
   */
  onAssigned?: ((partitions: readonly number[]) => Promise<void>) | undefined;
  /**
   * With transactional output: which of these owned partitions have a timer or an unsent outbox
   * due (refreshing the shared watermark first). Their timers then fire in passes of their own
   * (idle-timers.ts); without it a partition that gets no batch waits for its next one.
   */
  idleTimersDue?: IdleTimerOptions['due'] | undefined;
  /**
   * With transactional output, REE_COMMIT_INTERVAL_MS: a pass that sends nothing (no alert, no dead
   * letter) commits nothing, and the offsets it leaves are committed by the index's next
   * transaction, or by a pass of its own this long after (Kafka Streams' commit interval). 0 or
   * absent: every pass commits. Alerts never wait for it: a pass that sends commits at once.
   */
  commitIntervalMs?: number | undefined;
}

/** The broker's longest wait on a fetch with nothing new: how soon a held partition can go again. */
export const ALIGNED_FETCH_WAIT_MS = 100;

/** The log line (info), once per join: `ms` from joining the group to taking the first batch; bench:pipeline reads it. */
export const JOIN_TO_FIRST_BATCH = 'first batch after joining the group';
/** The debug log lines of a batch taken (`records`: how many) and of one held whole by the aligner; bench:pipeline counts them. */
export const BATCH_DONE = 'batch done';
export const BATCH_HELD = 'batch held';

/** How long a clean stop gives its last timer passes before leaving the group (the close of the consumer has 10 s in all). */
const STOP_FLUSH_MS = 5_000;

/**
 * The debug log line of one partition index's gathered batches done in one pass and transaction
 * (`batches`, `records`, `turnWaitMs` waited for a turn, `passMs` the pass and its transaction,
 * `committed` false when it sent nothing and deferred its offsets);
 * bench:pipeline counts them.
 */
export const INDEX_BATCHES_DONE = 'index batches done';

export interface ReportConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once the group has joined and is fetching; false again after a crash. */
  running(): boolean;
}

export function createReportConsumer(deps: ReportConsumerDeps): ReportConsumer {
  const kindOf = new Map<string, ReportTopicKind>(REPORT_TOPIC_KINDS.map((k) => [deps.topics[k], k]));
  let consumer: Consumer | undefined;
  let joined = false;
  let retryHeld: NodeJS.Timeout | undefined;
  let admin: Admin | undefined;
  /** Which assigned topic-partitions have nothing to read, as of the last join; every batch waits for it. */
  let idleKnown: Promise<void> = Promise.resolve();
  /** When the last join happened, until its first batch is taken (logged: how long a join keeps reports waiting). */
  let joinedAt: bigint | undefined;
  /** Partition indexes of the report topics this member owns (co-partitioned: the same on every topic). */
  let owned: readonly number[] = [];
  const commitIntervalMs = deps.transactional ? (deps.commitIntervalMs ?? 0) : 0;
  const batchDeps = { ...deps, ownedPartitions: () => owned, sequential: deps.concurrency === 1, deferCommits: commitIntervalMs > 0 };
  /** The assignment's epoch renewal; every batch waits for it. */
  let assigned: Promise<void> = Promise.resolve();
  /**
   * Timer passes of owned partitions that get no batch: at concurrency 1 a batch fires every owned
   * partition's timers, but a partition index whose reports have all been read (the end of a feed,
   * or an index this member got in a rebalance after its reports) gets no batch to do it.
   */
  let idle: IdleTimerPasses | undefined;
  /**
   * How many partition indexes' transactions (a fetch's batches of an index, or a timer pass) run
   * at once: REE_CONCURRENCY. At 1 a batch's transaction sends what any owned partition's timers
   * find, which is exact only while no other transaction of this instance is open (handle-batch.ts
   * inTransaction): a timer pass then takes its turn between batches.
   */
  const turns = new Semaphore(deps.concurrency);
  const inTurn = <T>(work: () => Promise<T>): Promise<T> => turns.runExclusive(work);
  /** The batches a fetch brings for one partition index, in one transaction (index-gather.ts). */
  const gather = createIndexGather<TakenBatch, BatchOutcome>(async (partition, batches) => {
    const gathered = performance.now();
    let turnAt = gathered;
    const outcome = await inTurn(() => {
      turnAt = performance.now();
      return handleReportBatches(batchDeps, batches);
    });
    // How long the index's batches waited for a turn (other indexes' transactions, REE_CONCURRENCY)
    // beside how long their own pass and transaction took: a wait that dominates is what a higher
    // REE_CONCURRENCY removes.
    const turnWaitMs = Math.round(turnAt - gathered);
    const passMs = Math.round(performance.now() - turnAt);
    deps.logger.debug({ partition, batches: batches.length, records: batches.reduce((n, b) => n + b.batch.records.length, 0), turnWaitMs, passMs, committed: outcome.committed }, INDEX_BATCHES_DONE);
    flushes.schedule(partition);
    return outcome;
  });

  /** What passes defer (commitIntervalMs) is committed by an idle timer pass of the index, after the assignment's renewal, in a turn. */
  const flush = async (partition: number): Promise<void> => {
    await assigned;
    await inTurn(() => fireIdlePartition(batchDeps, partition));
  };
  const flushes = createDeferredFlushes({
    intervalMs: commitIntervalMs,
    deferred: (partition) => deps.transactional?.transactions.deferred(partition) ?? false,
    flush,
    onError: (err, partition) => deps.logger.warn({ err, partition }, "could not commit a partition index's deferred offsets; its next transaction carries them"),
  });

  return {
    async start() {
      consumer = deps.kafka.consumer({
        groupId: deps.groupId,
        allowAutoTopicCreation: false,
        ...groupTiming(deps.sessionTimeoutMs),
        // The aligner needs every report topic of a partition index in one process. Round robin
        // stays second so a group mid-upgrade, with members that only know it, can still form.
        partitionAssigners: [CoPartitionAssigner, PartitionAssigners.roundRobin],
        // A resumed topic-partition is read only by the next fetch, and a fetch whose other
        // partitions are all caught up waits this long at the broker first. A backlog takes
        // hundreds of hold-and-resume steps to align; with kafkajs's 5 s many of them wait it out.
        maxWaitTimeInMs: ALIGNED_FETCH_WAIT_MS,
      });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        joined = true;
        joinedAt = process.hrtime.bigint();
        // A member can rejoin without a REBALANCING event: the old assignment's flushes go either way.
        flushes.cancel();
        const reportTopics = Object.entries(e.payload.memberAssignment).filter(([topic]) => kindOf.has(topic));
        owned = [...new Set(reportTopics.flatMap(([, partitions]) => partitions))].sort((a, b) => a - b);
        const { onAssigned, transactional } = deps;
        if (onAssigned || transactional) {
          const partitions = owned;
          const assignedTopics = reportTopics.map(([topic]) => topic);
          // The epoch first, then the transactional producers (which fence the old owners' ones),
          // then the committed offsets: in this order no earlier owner can still change any of them.
          // Then what an earlier owner committed and had not marked published yet is marked.
          const renew = async () => {
            await onAssigned?.(partitions);
            if (!transactional) return;
            await transactional.transactions.assign(partitions, assignedTopics);
            const { journal } = transactional;
            if (journal) {
              const committed = (p: number, txn: string) => transactional.transactions.committed.named(p, txn);
              await deps.pipeline.gate.shared(() => settleHeld(journal, partitions, committed, (alerts) => deps.pipeline.markPublished(alerts)));
            }
          };
          assigned = retry(renew, { onRetry: (err, attempt) => deps.logger.warn({ err, attempt }, 'retrying the epoch renewal of an assignment') });
          // Awaited by the next batch, which fails (and is redelivered) if it could not be done.
          assigned.catch(() => undefined);
        }
        deps.logger.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
      });
      consumer.on(consumer.events.CRASH, (e) => {
        joined = false;
        deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'report consumer crashed');
        if (!e.payload.restart) deps.onFatal?.(e.payload.error);
      });
      // One admin client for the consumer's life: connecting one per join cost a round trip or two
      // before the first batch could go.
      const offsetsAdmin = deps.kafka.admin();
      admin = offsetsAdmin;
      await offsetsAdmin.connect();
      // Learnt while the group forms, so reading the offsets at the join costs no metadata round trips.
      const topicsKnown = offsetsAdmin.fetchTopicMetadata({ topics: [...kindOf.keys()] }).catch(() => undefined);
      await consumer.connect();
      await consumer.subscribe({ topics: [...kindOf.keys()], fromBeginning: true });
      // kafkajs's workers: one per report topic-partition, so every batch of a fetch is in eachBatch
      // at once and a partition index's batches can be gathered (index-gather.ts); REE_CONCURRENCY
      // limits the transactions, not the batches. More partitions than known only gather less.
      const topicPartitions = (await topicsKnown)?.topics.reduce((n, t) => n + t.partitions.length, 0) ?? 0;
      const workers = Math.max(deps.concurrency, topicPartitions > 0 ? topicPartitions : REPORT_TOPIC_KINDS.length * 64);
      const aligner = new EventTimeAligner([...kindOf.keys()], { slackMs: deps.alignSlackMs ?? 6 * 3_600_000, maxHoldMs: 5_000 });
      consumer.on(consumer.events.REBALANCING, () => {
        aligner.forgetPartitions();
        owned = [];
        // The join that follows reads on from the group's offsets: what was deferred comes again.
        flushes.cancel();
      });
      // A member can rejoin without a REBALANCING event (e.g. after a session timeout), and what it
      // knew about the old assignment is stale either way. Partitions with nothing to read at join
      // time must not be waited for.
      // The first batches after a join wait for this: had they gone first, every one of them would
      // be held for siblings not yet known to be empty, until a resume timer came round (join →
      // first batch took 1.3–5.5 s). A failure leaves the aligner's patience (maxHoldMs) to decide.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        aligner.forgetPartitions();
        idleKnown = markIdlePartitions(e.payload.memberAssignment).catch((err: unknown) => deps.logger.warn({ err }, 'could not read offsets for alignment'));
      });
      const markIdlePartitions = async (assignment: Record<string, number[]>) => {
        const topics = Object.keys(assignment);
        if (topics.length === 0) return;
        await topicsKnown;
        const committed = new Map((await offsetsAdmin.fetchOffsets({ groupId: deps.groupId, topics })).map((t) => [t.topic, t.partitions]));
        const ends = await Promise.all(topics.map(async (topic) => [topic, await offsetsAdmin.fetchTopicOffsets(topic)] as const));
        for (const [topic, topicOffsets] of ends) {
          const offsets = new Map(topicOffsets.map((o) => [o.partition, o]));
          const committedHere = new Map((committed.get(topic) ?? []).map((p) => [p.partition, BigInt(p.offset)]));
          for (const p of assignment[topic]!) {
            const low = BigInt(offsets.get(p)?.low ?? 0);
            const high = BigInt(offsets.get(p)?.high ?? 0);
            // Retention may have deleted past the committed offset (-1 when none): reading resumes at low.
            const start = (committedHere.get(p) ?? -1n) > low ? committedHere.get(p)! : low;
            if (start >= high) aligner.markIdle(topic, p, String(start));
          }
        }
      };
      /**
       * Decoded records a held or cut batch left behind, by topic-partition and offset: the rest is
       * fetched again on every resume until its siblings catch up, and need not be decoded each time.
       */
      const heldDecoded = new Map<string, Map<string, DecodeOutcome<Report>>>();
      const decodeReusingHeld = async (key: string, whole: ReportBatch): Promise<DecodeOutcome<Report>[]> => {
        const known = heldDecoded.get(key);
        const missing = known ? whole.records.filter((r) => !known.has(r.offset)) : whole.records;
        const fresh = missing.length > 0 ? await decodeReportBatch(deps, { ...whole, records: missing }) : [];
        const freshByOffset = new Map(missing.map((r, i) => [r.offset, fresh[i]!]));
        return whole.records.map((r) => known?.get(r.offset) ?? freshByOffset.get(r.offset)!);
      };
      /** Decodes the batch's first record and keeps it with the held ones, so it is decoded once. */
      const decodeFirst = async (key: string, whole: ReportBatch): Promise<DecodeOutcome<Report>[]> => {
        const first = whole.records.slice(0, 1);
        const decoded = await decodeReusingHeld(key, { ...whole, records: first });
        heldDecoded.set(key, new Map([...(heldDecoded.get(key) ?? []), [first[0]!.offset, decoded[0]!]]));
        return decoded;
      };
      const keepHeld = (key: string, whole: ReportBatch, decoded: readonly DecodeOutcome<Report>[], take: number) => {
        if (take === whole.records.length) heldDecoded.delete(key);
        else heldDecoded.set(key, new Map(whole.records.slice(take).map((r, i) => [r.offset, decoded[take + i]!])));
      };
      /**
       * Sibling ends read for the aligner (`unconfirmed`): per topic, the last look and when it
       * began. A batch may use a look begun after it arrived (one look serves a fetch's batches of
       * every index); an older one may predate records written since, so it looks again.
       */
      const endLooks = new Map<string, { startedAt: number; ends: Promise<Map<number, string>> }>();
      const lookAtEnds = (topic: string, arrivedAt: number): Promise<Map<number, string>> => {
        const last = endLooks.get(topic);
        if (last && last.startedAt >= arrivedAt) return last.ends;
        const ends = offsetsAdmin.fetchTopicOffsets(topic).then((offsets) => new Map(offsets.map((o) => [o.partition, o.high])));
        ends.catch(() => endLooks.delete(topic));
        endLooks.set(topic, { startedAt: performance.now(), ends });
        return ends;
      };
      /**
       * Reads the ends of the siblings a batch would run ahead of, and tells the aligner whether
       * records wait there. Within END_LOOK_DEADLINE_MS: the batch (and, sharing the look, every
       * index's) waits on it, sending no heartbeat, and an admin request to a broker that does
       * not answer retries for far longer than a session.
       */
      const confirmEnds = async (siblings: { topic: string; partition: number; next: string }[], arrivedAt: number): Promise<void> => {
        try {
          await withDeadline(
            Promise.all(
              siblings.map(async ({ topic, partition, next }) => {
                const high = (await lookAtEnds(topic, arrivedAt)).get(partition);
                if (high !== undefined) aligner.confirmEnd(topic, partition, next, high, Date.now());
              }),
            ),
            END_LOOK_DEADLINE_MS,
            () => new Error(`no answer within ${END_LOOK_DEADLINE_MS} ms`),
          );
        } catch (err) {
          // Not known then: the batch goes as it would have before the look (at worst ahead of a sibling).
          deps.logger.warn({ err, siblings: siblings.map((s) => `${s.topic}/${s.partition}`) }, 'could not read sibling topics\' ends for alignment');
        }
      };
      // A fetch of transaction markers alone is no batch of ours (kafkajs resolves it itself), but
      // it moves the partition past what an end read counted as waiting.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        const { topic, partition, batchSize, lastOffset } = e.payload;
        if (batchSize === 0 && kindOf.has(topic)) aligner.passed(topic, partition, String(BigInt(lastOffset) + 1n));
      });
      consumer.on(consumer.events.REBALANCING, () => heldDecoded.clear());
      consumer.on(consumer.events.GROUP_JOIN, () => heldDecoded.clear());
      const c = consumer;
      const { idleTimersDue } = deps;
      if (deps.transactional && idleTimersDue) {
        idle = createIdleTimerPasses({
          owned: () => owned,
          ready: () => assigned,
          due: idleTimersDue,
          fire: (partition) => inTurn(() => fireIdlePartition(batchDeps, partition)),
          logger: deps.logger,
        });
      }
      const resumeReleasable = (topic: string, partition: number) => {
        const waiting = new Set(c.paused().flatMap((tp) => (tp.partitions ?? []).map((p) => `${tp.topic}/${p}`)));
        const siblings = aligner.releasable(topic, partition, Date.now()).filter((tp) => waiting.has(`${tp.topic}/${partition}`));
        if (siblings.length > 0) c.resume(siblings);
      };
      // Held partitions are retried every second: a sibling may have caught up, or the wait for
      // an empty one may have run out.
      retryHeld = setInterval(() => {
        const paused = c.paused();
        if (paused.length > 0) c.resume(paused);
      }, 1_000);
      /**
       * One topic-partition batch: aligned, decoded, the part it takes decided in turn with its
       * index's other batches of the fetch and told to the aligner (so the next sibling's limit
       * counts it, as when batches went one by one), then handed to the index's group (`submit`)
       * and its offset resolved. Returns without submitting when the batch is held whole.
       */
      const takeBatch = async (
        batch: EachBatchPayload['batch'],
        ticket: GatherTicket<TakenBatch, BatchOutcome>,
        { resolveOffset, heartbeat, commitOffsetsIfNecessary, pause }: Pick<EachBatchPayload, 'resolveOffset' | 'heartbeat' | 'commitOffsetsIfNecessary' | 'pause'>,
      ): Promise<void> => {
        const kind = kindOf.get(batch.topic)!;
        const started = process.hrtime.bigint();
        const arrivedAt = performance.now();
        const whole: ReportBatch = {
          kind,
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, offset: m.offset, timestamp: m.timestamp })),
        };
        const heldKey = `${batch.topic}/${batch.partition}`;
        const decision = await ticket.decide(async () => {
          // Aligned on the reports' own times, never the record times: those are whatever the
          // producer set (a backlog loaded in seconds, a kcat user), and results must not depend on them.
          await idleKnown;
          // Only the part of the batch that does not run ahead of the sibling topics goes now.
          let limit = aligner.limit(batch.topic, batch.partition, Date.now());
          let decodedEarly: DecodeOutcome<Report>[] | undefined;
          if (aligner.trustsCaughtUp(batch.topic, batch.partition)) {
            // How far the batch can reach: the limit, or with none its latest report (decoded whole
            // now rather than below to know it), past siblings believed caught up.
            let reach = limit;
            if (limit === Infinity) {
              decodedEarly = await decodeReusingHeld(heldKey, whole);
              reach = eventTimesOf(decodedEarly).reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY);
            }
            const unconfirmed = aligner.unconfirmed(batch.topic, batch.partition, reach);
            if (unconfirmed.length > 0) {
              await confirmEnds(unconfirmed, arrivedAt);
              limit = aligner.limit(batch.topic, batch.partition, Date.now());
            }
          }
          // A batch held whole is decided by its first record: decoding thousands of records only to
          // wait (the first batches after a join often do) held up the batches that could go.
          const firstTime = limit === Infinity ? undefined : eventTimesOf(decodedEarly ?? (await decodeFirst(heldKey, whole)))[0]!;
          const decoded = decodedEarly ?? (firstTime !== undefined && firstTime > limit ? undefined : await decodeReusingHeld(heldKey, whole));
          const times = decoded ? eventTimesOf(decoded) : [firstTime!];
          const take = decoded ? alignedPrefixLength(times, limit) : 0;
          if (decoded) keepHeld(heldKey, whole, decoded, take);
          if (take === 0) {
            aligner.held(batch.topic, batch.partition, times[0]!, Date.now());
            pause();
            deps.logger.debug({ topic: batch.topic, partition: batch.partition, firstReportTime: times[0], limit, records: batch.messages.length }, BATCH_HELD);
            // What this one waits with may be what a held sibling was waiting to see.
            resumeReleasable(batch.topic, batch.partition);
            return undefined;
          }
          // Told before the transaction: a failed one ends in a rejoin, which forgets the aligner's state.
          const last = batch.messages[take - 1]!;
          // A whole batch may end in control records that kafkajs filtered out; offsetLag counts past them.
          const lag = take === batch.messages.length ? Number(batch.offsetLag()) : Number(batch.highWatermark) - Number(last.offset) - 1;
          // The next offset as the high watermark less the lag: past control records kafkajs filtered out.
          aligner.observe(batch.topic, batch.partition, times.slice(0, take).reduce((a, b) => Math.max(a, b), Number.NEGATIVE_INFINITY), lag, String(BigInt(batch.highWatermark) - BigInt(lag)));
          if (take < batch.messages.length) aligner.cut(batch.topic, batch.partition, times[take]!);
          return { decoded: decoded!, take, lag };
        });
        if (!decision) return;
        const { decoded, take, lag } = decision;
        const messages = take === batch.messages.length ? batch.messages : batch.messages.slice(0, take);
        await assigned;
        // From joining to the first batch taken to be processed: what a join keeps reports waiting.
        const sinceJoinMs = joinedAt === undefined ? undefined : Math.round(Number(process.hrtime.bigint() - joinedAt) / 1e6);
        joinedAt = undefined;
        let outcome: BatchOutcome;
        try {
          outcome = await ticket.submit({ batch: { ...whole, records: whole.records.slice(0, take) }, decoded: decoded.slice(0, take) });
        } catch (err) {
          // Another owner has claimed these producers: the partition is no longer ours. Nothing is
          // committed; the rebalance hands the batch to the new owner.
          if (err instanceof ReeError && err.code === 'REE_ERR_FENCED') {
            deps.logger.warn({ topic: batch.topic, partition: batch.partition, err: err.message }, 'batch fenced off by a newer owner; not committed');
            return;
          }
          throw err;
        }
        resolveOffset(messages[messages.length - 1]!.offset);
        if (!deps.transactional) await commitOffsetsIfNecessary();
        await heartbeat();
        // The rest of a cut batch is fetched again once this partition is resumed.
        if (take < batch.messages.length) pause();
        resumeReleasable(batch.topic, batch.partition);
        // The batch may have moved the watermark past timers of partitions that get no batch; it
        // has just read the shared watermark back, so the round need not. At concurrency 1 the
        // batch's transaction fired every owned partition's timers at that watermark already: no
        // round is needed (the slow tick still looks for what other instances' batches moved).
        if (!batchDeps.sequential) idle?.kick(deps.pipeline.watermark());
        const done = process.hrtime.bigint();
        const seconds = Number(done - started) / 1e9;
        if (sinceJoinMs !== undefined) deps.logger.info({ ms: sinceJoinMs, records: messages.length, seconds, topic: batch.topic, partition: batch.partition }, JOIN_TO_FIRST_BATCH);
        deps.metrics?.batchDuration.observe({ topic: batch.topic }, seconds);
        deps.metrics?.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, lag);
        deps.logger.debug(
          { topic: batch.topic, partition: batch.partition, records: messages.length, held: batch.messages.length - take, alerts: outcome.alerts.length, deadLetters: outcome.deadLetters.length, seconds },
          BATCH_DONE,
        );
      };
      await consumer.run({
        eachBatchAutoResolve: false,
        // With transactions, offsets are committed only in the transaction that produces the batch's output.
        autoCommit: deps.transactional === undefined,
        partitionsConsumedConcurrently: workers,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          // Entered before anything is awaited, so the index's group waits for this batch (index-gather.ts).
          const ticket = gather.enter(batch.partition);
          try {
            await takeBatch(batch, ticket, { resolveOffset, heartbeat, commitOffsetsIfNecessary, pause });
          } finally {
            ticket.leave();
          }
        },
      });
    },
    async stop() {
      clearInterval(retryHeld);
      flushes.stop();
      // While this instance still owns its partitions: what the shared watermark has passed since
      // its last look (another instance's last batch may have moved it) fires now. Left to the
      // 2 s tick, a stop in between left it to whoever takes the partitions next, and a group
      // stopped whole (the end of a replayed backlog) to no one until it starts again. Bounded, so
      // a broker gone away cannot keep the group from being left: the next owner fires it then.
      if (idle) {
        await withDeadline(idle.flush(), STOP_FLUSH_MS, () => new Error(`timer passes not done within ${STOP_FLUSH_MS} ms`)).catch((err: unknown) =>
          deps.logger.warn({ err: (err as Error).message }, 'stopping without the last timer passes; the next owner of the partitions fires them'),
        );
      }
      // Then the offsets passes deferred, while this instance is still in the group (a restart, or
      // the partitions' next owner, would read their reports again otherwise: harmless, as after
      // a crash, but needless).
      const { transactional } = deps;
      const deferred = transactional && commitIntervalMs > 0 ? owned.filter((p) => transactional.transactions.deferred(p)) : [];
      if (deferred.length > 0) {
        const flushed = Promise.all(deferred.map(flush));
        await withDeadline(flushed, STOP_FLUSH_MS, () => new Error(`deferred offsets not committed within ${STOP_FLUSH_MS} ms`)).catch((err: unknown) =>
          deps.logger.warn({ err: (err as Error).message }, 'stopping with deferred offsets uncommitted; their reports are read again'),
        );
      }
      // disconnect lets the batch in flight finish and commits what it resolved.
      await consumer?.disconnect();
      // Out of the group now: what the last batches deferred is left to be read again, not
      // committed by the timer passes below (the partitions' next owner may have read the offsets).
      if (commitIntervalMs > 0) transactional?.transactions.forgetDeferred();
      // Then the timer passes the last batches asked for: done before the producers close.
      await idle?.stop();
      await admin?.disconnect();
      joined = false;
    },
    running: () => joined,
  };
}
