/**
 * The exactly-once floor for bench:pipeline: the detector's Kafka layer with nothing else. It reads
 * the report topics in a consumer group, JSON.parses every report, writes one output record per
 * unlicensed export (the bench's alerting reports, shaped as the paced client reads alerts) and
 * commits them with the consumed offsets in one Kafka transaction: the batches one fetch brings for
 * a partition index gathered into one transaction (`index-gather.ts`), through the detector's own
 * `OutputTransactions` (a fencing transactional producer per index, coordinators remembered,
 * offsets added while the work runs, CONCURRENT_TRANSACTIONS retried), every topic-partition
 * consumed at once (the detector's default: every index's pass may run at once with
 * REE_CONCURRENCY 6; set lower, the detector runs fewer), the detector's broker fetch wait, and
 * its commit interval (REE_COMMIT_INTERVAL_MS: a pass that outputs nothing leaves its offsets to
 * the index's next transaction, or to an offsets-only one once the interval has run). No
 * state, no rules, no Redis, no aligner, no
 * journal: what it costs is kafkajs's, the broker's and that layer's, which the detector pays too.
 * Its throughput and its report → output latency, beside the detector's in the same run, say how
 * much of the detector's figures is the floor's.
 */
import { Kafka } from 'kafkajs';
import { ALIGNED_FETCH_WAIT_MS } from '../src/consumers/report-consumer.ts';
import { createDeferredFlushes } from '../src/consumers/deferred-flushes.ts';
import { createIndexGather } from '../src/consumers/index-gather.ts';
import { CommittedOffsets } from '../src/pipeline/committed-offsets.ts';
import { createOutputTransactions, type CommitPosition } from '../src/producers/output-transactions.ts';
import { retry } from '../src/ops/retry.ts';

export interface EosFloor {
  /**
   * Resolves once `count` report records have been through a pass (their output committed, or
   * nothing to output and their offsets deferred, as the detector's); rejects if the floor's
   * consumer stops for good, or after `timeoutMs`.
   */
  until(count: number, timeoutMs: number): Promise<void>;
  stop(): Promise<void>;
}

interface FloorBatch {
  position: CommitPosition;
  records: number;
  outputs: { key: string; value: string }[];
}

export async function startEosFloor(options: { kafka: Kafka; groupId: string; inputTopics: string[]; outputTopic: string; commitIntervalMs: number }): Promise<EosFloor> {
  const { kafka, groupId, inputTopics, outputTopic, commitIntervalMs } = options;
  const transactions = createOutputTransactions({ kafka, groupId, committed: new CommittedOffsets() });
  const state = { passed: 0 };
  /** Per index, an offsets-only transaction once the interval has run (the detector's is a timer pass). */
  const flushes = createDeferredFlushes({
    intervalMs: commitIntervalMs,
    deferred: (partition) => transactions.deferred(partition),
    flush: (partition) => transactions.withinTimers(partition, async () => []),
    onError: () => undefined,
  });
  const gather = createIndexGather<FloorBatch, void>(async (partition, batches) => {
    await transactions.within(
      batches.map((b) => b.position),
      async (sender) => {
        const outputs = batches.flatMap((b) => b.outputs);
        if (outputs.length > 0) await sender.send({ topic: outputTopic, messages: outputs });
      },
      undefined,
      { deferIfNothingSent: commitIntervalMs > 0 },
    );
    for (const b of batches) state.passed += b.records;
    flushes.schedule(partition);
  });
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: ALIGNED_FETCH_WAIT_MS });
  // As the detector: the index's producer is opened (fencing its previous owner) before its first
  // batch, retried, and awaited by the batches (a failure then fails a batch, not the process).
  let assigned: Promise<void> = Promise.resolve();
  consumer.on(consumer.events.GROUP_JOIN, (e) => {
    const mine = Object.entries(e.payload.memberAssignment).filter(([topic]) => inputTopics.includes(topic));
    const partitions = [...new Set(mine.flatMap(([, p]) => p))].sort((a, b) => a - b);
    assigned = retry(() => transactions.assign(partitions, mine.map(([topic]) => topic)));
    assigned.catch(() => undefined);
  });
  let crashed: Error | undefined;
  consumer.on(consumer.events.CRASH, (e) => {
    if (!e.payload.restart) crashed = e.payload.error;
  });
  await consumer.connect();
  await consumer.subscribe({ topics: inputTopics, fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    // kafkajs runs at most one batch per topic-partition at a time: every one at once, as the detector's workers.
    partitionsConsumedConcurrently: 64,
    eachBatch: async ({ batch, isRunning, isStale }) => {
      if (!isRunning() || isStale() || batch.messages.length === 0) return;
      // Entered before anything is awaited, so the index's group waits for this batch.
      const ticket = gather.enter(batch.partition);
      try {
        await assigned;
        const outputs: FloorBatch['outputs'] = [];
        for (const m of batch.messages) {
          const report = JSON.parse(m.value!.toString()) as { reportId: string; producerId: string; direction?: string };
          if (report.direction === 'EXPORT') outputs.push({ key: report.producerId, value: JSON.stringify({ alertId: `floor-${report.reportId}`, subjectEventIds: [report.reportId] }) });
        }
        const position: CommitPosition = { topic: batch.topic, partition: batch.partition, offset: String(Number(batch.lastOffset()) + 1) };
        await ticket.submit({ position, records: batch.messages.length, outputs });
      } finally {
        ticket.leave();
      }
    },
  });
  return {
    async until(count, timeoutMs) {
      const deadline = performance.now() + timeoutMs;
      while (state.passed < count) {
        if (crashed) throw new Error(`the exactly-once floor's consumer stopped: ${crashed.message}`);
        if (performance.now() > deadline) throw new Error(`the exactly-once floor passed ${state.passed} of ${count} records in ${timeoutMs / 1000} s`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async stop() {
      flushes.stop();
      await consumer.disconnect();
      await transactions.close();
    },
  };
}
