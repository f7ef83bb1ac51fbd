/**
 * "Has this consumer read its compacted topic up to where it ended at start?" A reference-data
 * consumer (licences, watchlist) must have, before reports are judged against that data.
 */
import type { Admin } from 'kafkajs';
import { retry } from '../ops/retry.ts';

export interface CatchUp {
  /** Fixes the targets: every non-empty partition's end offset now. */
  start(): Promise<void>;
  /** Records that a partition has been processed up to and including `offset`. */
  reached(partition: number, offset: string): void;
  /** Resolves true once every partition has been read (by this process or, per committed offsets, the group). */
  caughtUp(timeoutMs: number): Promise<boolean>;
}

export function createCatchUp(admin: Admin, groupId: string, topic: string): CatchUp {
  /** partition → offset that must be passed to be caught up */
  const targets = new Map<number, bigint>();
  const reachedAt = new Map<number, bigint>();
  const isCaughtUp = () => [...targets].every(([p, end]) => (reachedAt.get(p) ?? -1n) + 1n >= end);

  // The group's committed offsets count too: after a restart, or with partitions owned by another
  // instance, this process may have nothing left to read itself.
  async function committedPastTargets(): Promise<boolean> {
    const [committed] = await retry(() => admin.fetchOffsets({ groupId, topics: [topic] }));
    const byPartition = new Map((committed?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
    return [...targets].every(([p, end]) => (byPartition.get(p) ?? -1n) >= end);
  }

  return {
    async start() {
      // Right after the topic is created its leaders may still be settling (NOT_LEADER): retry.
      const offsets = await retry(() => admin.fetchTopicOffsets(topic), { retries: 8 });
      for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) targets.set(o.partition, BigInt(o.high));
    },
    reached(partition, offset) {
      reachedAt.set(partition, BigInt(offset));
    },
    async caughtUp(timeoutMs) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        if (isCaughtUp() || (await committedPastTargets())) return true;
        if (Date.now() > until) return false;
        await new Promise((r) => setTimeout(r, 200));
      }
    },
  };
}
