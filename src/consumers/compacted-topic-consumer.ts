/**
 * The frame the reference-data consumers (licences, watchlist) share: a consumer group of their
 * own reading a compacted topic from its beginning, a way to tell that what the topic held at start
 * has been read (reports wait for it), onFatal when kafkajs gives up, and each batch committed
 * only after its handler has made it durable.
 */
import type { Admin, Batch, Consumer, Kafka } from 'kafkajs';
import { groupTiming } from '../kafka/group-timing.ts';
import type { Logger } from '../ops/logger.ts';
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

/** `what` names the consumer in logs ("licence", "watchlist"); `handle` applies one batch. */
export function createCompactedTopicConsumer(deps: CompactedTopicConsumerDeps, what: string, handle: (batch: Batch) => Promise<void>): CompactedTopicConsumer {
  let consumer: Consumer | undefined;
  const catchUp = createCatchUp(deps.admin, deps.groupId, deps.topic);

  return {
    async start() {
      await catchUp.start();
      consumer = deps.kafka.consumer({ groupId: deps.groupId, allowAutoTopicCreation: false, ...groupTiming(deps.sessionTimeoutMs) });
      consumer.on(consumer.events.CRASH, (e) => {
        deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, `${what} consumer crashed`);
        if (!e.payload.restart) deps.onFatal?.(e.payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [deps.topic], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
          await handle(batch);
          resolveOffset(batch.lastOffset());
          catchUp.reached(batch.partition, batch.lastOffset());
          await commitOffsetsIfNecessary();
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
