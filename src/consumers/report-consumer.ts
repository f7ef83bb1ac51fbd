/**
 * The detector's main consumer group over the four report topics. kafkajs hands one
 * topic-partition batch at a time; offsets are resolved only after the batch's state, alerts and
 * dead letters are durable, so a crash means redelivery (harmless: everything is idempotent),
 * never loss.
 */
import type { Consumer, Kafka } from 'kafkajs';
import { REPORT_TOPIC_KINDS, type ReportTopicKind, type TopicNames } from '../config/topics.ts';
import type { Logger } from '../ops/logger.ts';
import { EventTimeAligner } from './event-time-aligner.ts';
import { handleReportBatch, type BatchDeps } from './handle-batch.ts';

export interface ReportConsumerDeps extends BatchDeps {
  kafka: Kafka;
  groupId: string;
  topics: TopicNames;
  concurrency: number;
  logger: Logger;
  /** How far one report topic may run ahead of its siblings in record time (default 6 h). */
  alignSlackMs?: number;
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
  let retryHeld: NodeJS.Timeout | undefined;

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
      const aligner = new EventTimeAligner([...kindOf.keys()], { slackMs: deps.alignSlackMs ?? 6 * 3_600_000, maxHoldMs: 5_000 });
      consumer.on(consumer.events.REBALANCING, () => aligner.forgetPartitions());
      // Partitions with nothing to read at join time must not be waited for.
      consumer.on(consumer.events.GROUP_JOIN, (e) => {
        void markIdlePartitions(e.payload.memberAssignment).catch((err: unknown) => deps.logger.warn({ err }, 'could not read offsets for alignment'));
      });
      const markIdlePartitions = async (assignment: Record<string, number[]>) => {
        const admin = deps.kafka.admin();
        await admin.connect();
        try {
          for (const [topic, partitions] of Object.entries(assignment)) {
            const ends = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.high)]));
            const [committed] = await admin.fetchOffsets({ groupId: deps.groupId, topics: [topic] });
            const starts = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
            const lows = new Map((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, BigInt(o.low)]));
            for (const p of partitions) {
              const start = (starts.get(p) ?? -1n) >= 0n ? starts.get(p)! : (lows.get(p) ?? 0n);
              if (start >= (ends.get(p) ?? 0n)) aligner.markIdle(topic, p);
            }
          }
        } finally {
          await admin.disconnect();
        }
      };
      const c = consumer;
      // Held partitions are retried every second: a sibling may have caught up, or the wait for
      // an empty one may have run out.
      retryHeld = setInterval(() => {
        const paused = c.paused();
        if (paused.length > 0) c.resume(paused);
      }, 1_000);
      await consumer.run({
        eachBatchAutoResolve: false,
        partitionsConsumedConcurrently: deps.concurrency,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale, pause }) => {
          if (!isRunning() || isStale() || batch.messages.length === 0) return;
          const kind = kindOf.get(batch.topic)!;
          const started = process.hrtime.bigint();
          // Only the part of the batch that does not run ahead of the sibling topics goes now.
          const limit = aligner.limit(batch.topic, batch.partition, Date.now());
          let take = batch.messages.length;
          while (take > 0 && Number(batch.messages[take - 1]!.timestamp) > limit) take -= 1;
          if (take === 0) {
            aligner.held(batch.topic, batch.partition, Number(batch.messages[0]!.timestamp), Date.now());
            pause();
            return;
          }
          const messages = take === batch.messages.length ? batch.messages : batch.messages.slice(0, take);
          const outcome = await handleReportBatch(deps, {
            kind,
            topic: batch.topic,
            partition: batch.partition,
            records: messages.map((m) => ({ key: m.key, value: m.value, headers: m.headers, offset: m.offset })),
          });
          const last = messages[messages.length - 1]!;
          resolveOffset(last.offset);
          const lag = Number(batch.highWatermark) - Number(last.offset) - 1;
          aligner.observe(batch.topic, batch.partition, Math.max(...messages.map((m) => Number(m.timestamp))), lag);
          await commitOffsetsIfNecessary();
          await heartbeat();
          // The rest of a cut batch is fetched again once this partition is resumed.
          if (take < batch.messages.length) pause();
          const waiting = new Set(c.paused().flatMap((tp) => (tp.partitions ?? []).map((p) => `${tp.topic}/${p}`)));
          const siblings = aligner.siblings(batch.topic, batch.partition).filter((tp) => waiting.has(`${tp.topic}/${batch.partition}`));
          if (siblings.length > 0) c.resume(siblings);
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          deps.metrics?.batchDuration.observe({ topic: batch.topic }, seconds);
          deps.metrics?.consumerLag.set({ topic: batch.topic, partition: String(batch.partition) }, lag);
          deps.logger.debug(
            { topic: batch.topic, partition: batch.partition, records: messages.length, held: batch.messages.length - take, alerts: outcome.alerts.length, deadLetters: outcome.deadLetters.length, seconds },
            'batch done',
          );
        },
      });
    },
    async stop() {
      clearInterval(retryHeld);
      // disconnect lets the batch in flight finish and commits what it resolved.
      await consumer?.disconnect();
      joined = false;
    },
    running: () => joined,
  };
}
