/** How far a consumer group has got, from the broker's side: for tests that wait on the detector. */
import type { Admin, Kafka } from 'kafkajs';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';

/** Whether a group has committed everything its topics hold. */
export async function caughtUp(admin: Admin, groupId: string, topics: string[]): Promise<boolean> {
  for (const topic of topics) {
    const ends = await admin.fetchTopicOffsets(topic);
    const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const at = new Map((committed?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
    for (const e of ends) if (Number(e.high) > Number(e.low) && (at.get(e.partition) ?? -1) < Number(e.high)) return false;
  }
  return true;
}

/** A detector's report topics under `prefix`, and its group (`<prefix>-g`, as detector-process.ts names it). */
const reportTopicsOf = (prefix: string) => REPORT_TOPIC_KINDS.map((k) => topicNames(prefix)[k]);

async function withAdmin<T>(kafka: Kafka, use: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await use(admin);
  } finally {
    await admin.disconnect();
  }
}

/** How many report records the detector's group has committed past, over every report topic-partition. */
export function committedReportCount(kafka: Kafka, prefix: string): Promise<number> {
  return withAdmin(kafka, async (admin) => {
    const offsets = await admin.fetchOffsets({ groupId: `${prefix}-g`, topics: reportTopicsOf(prefix) });
    return offsets.flatMap((t) => t.partitions).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  });
}

/** Whether the detector's group has committed every report its topics hold. */
export function reportsCommitted(kafka: Kafka, prefix: string): Promise<boolean> {
  return withAdmin(kafka, (admin) => caughtUp(admin, `${prefix}-g`, reportTopicsOf(prefix)));
}
