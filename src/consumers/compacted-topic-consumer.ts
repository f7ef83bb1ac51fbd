/**
 * The frame the reference-data consumers (licences, watchlist) share: a consumer group of their
 * own reading a compacted topic from its beginning, a way to tell that what the topic held at start
 * has been read (reports wait for it), onFatal when kafkajs gives up, and each batch committed
 * only after its handler has made it durable. A transactional handler (the watchlist's) commits
 * its batch's offset itself, in the transaction that publishes its output: then the frame commits
 * nothing, and runs `onAssigned` on every assignment before the next batch.
 */
import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import { groupTiming } from '../kafka/group-timing.ts';
import type { Logger } from '../ops/logger.ts';
import { retry } from '../ops/retry.ts';
import { createCatchUp } from './catch-up.ts';

export interface CompactedTopicConsumerDeps {
  kafka: Kafka;
  admin: Admin;
  groupId: string;
  topic: string;
  logger: Logger;
  /** Called when kafkajs has stopped the consumer and will not restart it. */
  onFatal?: (err: unknown) => void;
  sessionTimeoutMs?: number;
}

export interface CompactedTopicConsumer {
  start(): Promise<void>;
  /** Resolves once every partition has been read up to its end offset at start time. */
  caughtUp(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export interface CommittingHandler {
  /** On every assignment, with this member's partitions of the topic; batches wait for it (and fail while it does). */
  onAssigned(partitions: number[]): Promise<void>;
  /** Applies and commits one batch; false: not done (a newer owner has the partition), the batch is not resolved. */
  handle(batch: Batch): Promise<boolean>;
}

/**
 * The broker's longest wait on a fetch with nothing new. A consumer's disconnect waits for its fetch
 * in flight, and reference topics are idle nearly always: with kafkajs's 5 s each stop of a detector
 * sat up to 5 s per consumer (three of them: ~14 s for an idle one). It does not delay a record:
 * a fetch returns as soon as one arrives. What it costs is empty fetches while idle: one a second
 * per consumer and broker instead of one per 5 s, beside the report consumer's ten (100 ms).
 */
export const REFERENCE_FETCH_WAIT_MS = 1_000;

/**
 * `what` names the consumer in logs ("licence", "watchlist"); `handle` applies one batch, which
 * the frame then commits, or, given as a CommittingHandler, applies and commits it.
 */
export function createCompactedTopicConsumer(deps: CompactedTopicConsumerDeps, what: string, handler: ((batch: Batch) => Promise<void>) | CommittingHandler): CompactedTopicConsumer {
  let consumer: Consumer | undefined;
  const catchUp = createCatchUp(deps.admin, deps.groupId, deps.topic);
  const plain = typeof handler === 'function' ? handler : undefined;
  const committing = typeof handler === 'function' ? undefined : handler;
  /** The last assignment and its onAssigned, awaited by every batch. */
  let assignment = { partitions: [] as number[], done: Promise.resolve() };
  const assign = (partitions: number[]) => {
    const done = retry(() => committing!.onAssigned(partitions), { onRetry: (err, attempt) => deps.logger.warn({ err, attempt }, `retrying the ${what} assignment`) });
    done.catch(() => undefined);
    assignment = { partitions, done };
  };

  return {
    async start() {
      await catchUp.start();
      consumer = deps.kafka.consumer({ groupId: deps.groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: REFERENCE_FETCH_WAIT_MS, ...groupTiming(deps.sessionTimeoutMs) });
      consumer.on(consumer.events.CRASH, (e) => {
        deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, `${what} consumer crashed`);
        if (!e.payload.restart) deps.onFatal?.(e.payload.error);
      });
      if (committing) {
        consumer.on(consumer.events.GROUP_JOIN, (e) => {
          assign(e.payload.memberAssignment[deps.topic] ?? []);
        });
      }
      await consumer.connect();
      await consumer.subscribe({ topics: [deps.topic], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        autoCommit: !committing,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
          if (committing) {
            const current = assignment;
            // One that failed for good is run again, and this batch fails (kafkajs fetches it again).
            await current.done.catch((err: unknown) => {
              if (assignment === current) assign(current.partitions);
              throw err;
            });
            if (!(await committing.handle(batch))) return;
          } else await plain!(batch);
          resolveOffset(batch.lastOffset());
          catchUp.reached(batch.partition, batch.lastOffset());
          if (!committing) await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
    },
    caughtUp: (timeoutMs) => catchUp.caughtUp(timeoutMs),
    async stop() {
      await consumer?.disconnect();
    },
  };
}

