/**
 * The detector's main consumer group over the four report topics. kafkajs hands one
 * topic-partition batch at a time; offsets are resolved only after the batch's state, alerts and
 * dead letters are durable, so a crash means redelivery (harmless: everything is idempotent),
 * never loss.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { REPORT_TOPIC_KINDS, type ReportTopicKind, type TopicNames } from '../config/topics.ts';
import type { Logger } from '../ops/logger.ts';
import { handleReportBatch, type BatchDeps } from './handle-batch.ts';

export interface ReportConsumerDeps extends BatchDeps {
  kafka: Kafka;
  groupId: string;
  topics: TopicNames;
  concurrency: number;
  logger: Logger;
}

export interface ReportConsumer {
  start(): Promise<void>;
  stop(): Promise<void>;
  /** True once the group has joined and is fetching. */
  running(): boolean;
}

export function createReportConsumer(deps: ReportConsumerDeps): ReportConsumer {
  const kindOf = new Map<string, ReportTopicKind>(REPORT_TOPIC_KINDS.map((k) => [deps.topics[k], k]));
  let consumer: Consumer | undefined;
  let joined = false;

  return {
    async start() {
      consumer = deps.kafka.consumer({ groupId: deps.groupId, allowAutoTopicCreation: false });
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        joined = true;
        deps.logger.info({ memberId: e.payload.memberId, assignment: e.payload.memberAssignment }, 'joined consumer group');
      });
      consumer.on(consumer.events.CRASH, (e) => deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed'));
      await consumer.connect();
      await consumer.subscribe({ topics: [...kindOf.keys()], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: deps.concurrency,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const kind = kindOf.get(batch.topic)!;
          const started = process.hrtime.bigint();
          const outcome = await handleReportBatch(deps, {
            kind,
            topic: batch.topic,
            partition: batch.partition,
            records: batch.messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, offset: m.offset })),
          });
          resolveOffset(batch.lastOffset());
          await commitOffsetsIfNecessary();
          await heartbeat();
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          deps.metrics?.batchDuration.observe({ topic: batch.topic }, seconds);
          deps.metrics?.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
          deps.logger.debug(
            { topic: batch.topic, partition: batch.partition, records: batch.messages.length, alerts: outcome.alerts.length, deadLetters: outcome.deadLetters.length, seconds },
            'batch done',
          );
        },
      });
    },
    async stop() {
      // disconnect lets the batch in flight finish and commits what it resolved.
      await consumer?.disconnect();
      joined = false;
    },
    running: () => joined,
  };
}
