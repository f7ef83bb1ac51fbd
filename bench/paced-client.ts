/**
 * bench:pipeline's paced phase from outside the detector's process, as real producers and alert
 * readers are: offers reports at a steady rate and reads the alerts they bring, in a child process
 * of its own (forked by pipeline.ts), so its CPU and event-loop time are not charged to the
 * detector. Latency is an alert's read time minus its report's send time, both on this process's
 * clock.
 *
 * Protocol: the parent forks it with one argument, the JSON of PacedClientArgs; it sends
 * `{ type: 'offering' }` when its first report goes, then one PacedClientResult, and exits.
 */
import type { Kafka } from 'kafkajs';
import type { TopicNames } from '../src/config/topics.ts';
import { isAlerting, reportIdOf, topicMessagesOf } from './pipeline-reports.ts';
import { quietKafkaClient } from '../src/kafka/client.ts';

export interface PacedClientArgs {
  brokers: string[];
  topics: TopicNames;
  groupId: string;
  producers: number;
  /** Reports first..first+count-1 (pipeline-reports.ts numbering). */
  first: number;
  count: number;
  rate: number;
}

export interface PacedClientResult {
  type: 'result';
  offeredRate: number;
  expectedAlerts: number;
  /** Report → alert ms, one per alert read, unsorted. */
  latencies: number[];
  /** This process's CPU while offering and reading, µs. */
  cpuUs: number;
}

/** Offers the reports at `rate` per second: every 5 ms tick sends what is due by then in one request, so the rate holds at thousands a second. */
async function offerPaced(kafka: Kafka, args: PacedClientArgs, sentAt: Map<string, number>): Promise<number> {
  const producer = kafka.producer();
  await producer.connect();
  const started = performance.now();
  let next = 0;
  while (next < args.count) {
    const due = Math.min(args.count, Math.floor(((performance.now() - started) / 1000) * args.rate) + 1);
    if (due > next) {
      const now = Date.now();
      for (let i = next; i < due; i += 1) if (isAlerting(args.first + i)) sentAt.set(reportIdOf(args.first + i), now);
      const topicMessages = topicMessagesOf(args.topics, args.producers, args.first + next, args.first + due);
      next = due;
      await producer.sendBatch({ topicMessages });
    }
    await new Promise((res) => setTimeout(res, 5));
  }
  const seconds = (performance.now() - started) / 1000;
  await producer.disconnect();
  return args.count / seconds;
}

async function main() {
  const args = JSON.parse(process.argv[2]!) as PacedClientArgs;
  const kafka = quietKafkaClient('ree-bench-paced', args.brokers);
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const alertConsumer = kafka.consumer({ groupId: args.groupId });
  await alertConsumer.connect();
  await alertConsumer.subscribe({ topics: [args.topics.alerts], fromBeginning: false });
  await alertConsumer.run({
    eachMessage: async ({ message }) => {
      const alert = JSON.parse(message.value!.toString()) as { subjectEventIds: string[] };
      const t = sentAt.get(alert.subjectEventIds[0]!);
      if (t !== undefined) latencies.push(Date.now() - t);
    },
  });
  await new Promise((r) => setTimeout(r, 3000));
  const cpuStarted = process.cpuUsage();
  process.send!({ type: 'offering' });
  const offeredRate = await offerPaced(kafka, args, sentAt);
  let expectedAlerts = 0;
  for (let i = args.first; i < args.first + args.count; i += 1) if (isAlerting(i)) expectedAlerts += 1;
  const deadline = Date.now() + 30_000;
  while (latencies.length < expectedAlerts && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const cpu = process.cpuUsage(cpuStarted);
  await alertConsumer.disconnect();
  const result: PacedClientResult = { type: 'result', offeredRate, expectedAlerts, latencies, cpuUs: cpu.user + cpu.system };
  await new Promise<void>((resolve) => process.send!(result, () => resolve()));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
