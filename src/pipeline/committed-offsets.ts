/**
 * The consumer group's committed offsets of the report topic-partitions this instance owns, as far
 * as this instance knows them: read from Kafka on every assignment (after the partitions'
 * transactional producers have fenced any earlier owner, so no transaction of theirs can still
 * commit), then moved by each transaction this instance commits. Only a partition's owner commits
 * its offsets, so between assignments this view is exact. The outbox asks it whether the
 * transaction an entry went out in has committed (outbox.ts).
 *
 * A committed position is (offset, seq). A report batch's transaction moves the offset (seq 0). A
 * timer pass of an idle partition has no input to move past, so its transaction commits the same
 * offset again with the next seq, kept in the offset's metadata: what it sent is then known to
 * have committed exactly when the group's position of that topic-partition has reached its
 * (offset, seq), as for a batch.
 */
import type { SentIn } from './outbox.ts';

/** A topic-partition's committed position; seq counts timer-only transactions at one offset. */
export interface CommittedPosition {
  offset: bigint;
  seq: number;
}

const SEQ_PREFIX = 'ree-seq:';

/** The offset metadata a transaction commits with: the seq, or nothing for seq 0. */
export const seqMetadata = (seq: number): string | undefined => (seq > 0 ? `${SEQ_PREFIX}${seq}` : undefined);

/** The seq in committed metadata; anything else (none, another writer's text) is 0. */
export function seqOf(metadata: string | null | undefined): number {
  if (!metadata?.startsWith(SEQ_PREFIX)) return 0;
  const seq = Number(metadata.slice(SEQ_PREFIX.length));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

const atOrPast = (held: CommittedPosition, offset: bigint, seq: number) => held.offset > offset || (held.offset === offset && held.seq >= seq);

export class CommittedOffsets {
  private readonly offsets = new Map<string, CommittedPosition & { topic: string; partition: number }>();

  /** After an assignment: what the group has committed, per topic-partition (offset -1: nothing yet). */
  reset(committed: readonly { topic: string; partition: number; offset: string; metadata?: string | null }[]): void {
    this.offsets.clear();
    for (const c of committed) this.offsets.set(keyOf(c.topic, c.partition), { topic: c.topic, partition: c.partition, offset: BigInt(c.offset), seq: seqOf(c.metadata) });
  }

  /** After this instance's transaction committing (`offset`, `seq`) has committed. */
  note(topic: string, partition: number, offset: string, seq = 0): void {
    const key = keyOf(topic, partition);
    const next = BigInt(offset);
    const held = this.offsets.get(key);
    if (!held || !atOrPast(held, next, seq)) this.offsets.set(key, { topic, partition, offset: next, seq });
  }

  /** True once the group's position of the entry's topic-partition has reached what its transaction commits; unknown partitions are not. */
  readonly covers = (sentIn: SentIn): boolean => {
    const held = this.offsets.get(keyOf(sentIn.topic, sentIn.partition));
    return held !== undefined && atOrPast(held, BigInt(sentIn.offset), sentIn.seq ?? 0);
  };

  /**
   * Where a timer-only transaction of partition index `partition` commits: a topic-partition of
   * that index the group has committed (the one with the lowest topic name, for stable logs), at
   * its offset with the next seq. Undefined while nothing is committed on the index: its first
   * report batch fires its timers then.
   */
  timerPosition(partition: number): { topic: string; partition: number; offset: string; seq: number } | undefined {
    let pick: (CommittedPosition & { topic: string }) | undefined;
    for (const held of this.offsets.values()) {
      if (held.partition !== partition || held.offset < 0n) continue;
      if (!pick || held.topic < pick.topic) pick = held;
    }
    return pick && { topic: pick.topic, partition, offset: pick.offset.toString(), seq: pick.seq + 1 };
  }
}
