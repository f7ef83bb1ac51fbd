/**
 * The consumer group's committed offsets of the report topic-partitions this instance owns, as far
 * as this instance knows them: read from Kafka on every assignment (after the partitions'
 * transactional producers have fenced any earlier owner, so no transaction of theirs can still
 * commit), then moved by each transaction this instance commits. Only a partition's owner commits
 * its offsets, so between assignments this view is exact. The outbox asks it whether the
 * transaction an entry went out in has committed (outbox.ts).
 */
import type { SentIn } from './outbox.ts';

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class CommittedOffsets {
  private readonly offsets = new Map<string, bigint>();

  /** After an assignment: what the group has committed, per topic-partition (offset -1: nothing yet). */
  reset(committed: readonly { topic: string; partition: number; offset: string }[]): void {
    this.offsets.clear();
    for (const c of committed) this.offsets.set(keyOf(c.topic, c.partition), BigInt(c.offset));
  }

  /** After this instance's transaction committing `offset` has committed. */
  note(topic: string, partition: number, offset: string): void {
    const key = keyOf(topic, partition);
    const next = BigInt(offset);
    if ((this.offsets.get(key) ?? -1n) < next) this.offsets.set(key, next);
  }

  /** True once the group's offset of the entry's topic-partition has reached what its transaction commits; unknown partitions are not. */
  readonly covers = (sentIn: SentIn): boolean => {
    const committed = this.offsets.get(keyOf(sentIn.topic, sentIn.partition));
    return committed !== undefined && committed >= BigInt(sentIn.offset);
  };
}
