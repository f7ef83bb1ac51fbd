/** How far a consumer group has got, from the broker's side: for tests that wait on the detector. */
import type { Admin } from 'kafkajs';

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
