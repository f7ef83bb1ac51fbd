/**
 * bench:pipeline's paced phase, in a process of its own: offers reports at a steady rate and reads
 * the alerts they raise (read_committed), timing each from its report's send to its alert's read.
 * Run in the bench's process, this producer's request encoding and the reader took a fifth of the
 * event loop the detector runs on (a CPU profile of the paced phase), so the latency measured was
 * partly the bench's own; a deployed detector shares its loop with neither.
 *
 * Forked by bench/pipeline.ts with { brokers, prefix, start, count, rate, producers }; answers
 * 'ready' once its reader has joined, then, after 'go', the result.
 */
import { Kafka, logLevel } from 'kafkajs';
import { topicNames } from '../src/config/topics.ts';
import { benchReport, raisesAlert } from './pipeline-reports.ts';

export interface PacedLoadOptions {
  brokers: string[];
  prefix: string;
  /** The index of the first report offered (the throughput phase's reports come before). */
  start: number;
  count: number;
  rate: number;
  producers: number;
}

export interface PacedLoadResult {
  latencies: number[];
  expectedAlerts: number;
  offeredRate: number;
  /** CPU of this process (producer and reader), µs. */
  cpuUs: number;
}

async function offerAndRead(options: PacedLoadOptions, go: Promise<void>, ready: () => void): Promise<PacedLoadResult> {
  const topics = topicNames(options.prefix);
  const kafka = new Kafka({ clientId: 'ree-bench-paced', brokers: options.brokers, logLevel: logLevel.ERROR });
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const reader = kafka.consumer({ groupId: `${options.prefix}-alerts` });
  await reader.connect();
  await reader.subscribe({ topics: [topics.alerts], fromBeginning: false });
  const joined = new Promise<void>((resolve) => reader.on(reader.events.GROUP_JOIN, () => resolve()));
  await reader.run({
    eachMessage: async ({ message }) => {
      const alert = JSON.parse(message.value!.toString()) as { subjectEventIds: string[] };
      const t = sentAt.get(alert.subjectEventIds[0]!);
      if (t !== undefined) latencies.push(Date.now() - t);
    },
  });
  await joined;
  const producer = kafka.producer();
  await producer.connect();
  ready();
  await go;

  const cpuStarted = process.cpuUsage();
  const started = performance.now();
  // Every tick sends what is due by then in one request, so the rate holds at thousands a second.
  let next = 0;
  while (next < options.count) {
    const due = Math.min(options.count, Math.floor(((performance.now() - started) / 1000) * options.rate) + 1);
    const byTopic = new Map<string, { key: string; value: string }[]>();
    const now = Date.now();
    for (; next < due; next += 1) {
      const r = benchReport(options.start + next, topics, options.producers);
      sentAt.set(r.value.reportId, now);
      const list = byTopic.get(r.topic) ?? [];
      list.push({ key: r.key, value: JSON.stringify(r.value) });
      byTopic.set(r.topic, list);
    }
    if (byTopic.size > 0) await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
    await new Promise((res) => setTimeout(res, 5));
  }
  const offeredRate = options.count / ((performance.now() - started) / 1000);
  await producer.disconnect();

  const expectedAlerts = Array.from({ length: options.count }, (_, i) => options.start + i).filter(raisesAlert).length;
  const deadline = Date.now() + 30_000;
  while (latencies.length < expectedAlerts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const u = process.cpuUsage(cpuStarted);
  await reader.disconnect();
  return { latencies, expectedAlerts, offeredRate, cpuUs: u.user + u.system };
}

process.once('message', (options: PacedLoadOptions) => {
  let start!: () => void;
  const go = new Promise<void>((resolve) => (start = resolve));
  process.on('message', (m) => {
    if (m === 'go') start();
  });
  offerAndRead(options, go, () => process.send!('ready')).then(
    (result) => process.send!(result, () => process.exit(0)),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
});
