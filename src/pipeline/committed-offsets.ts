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
 *
 * Every transaction also writes its id into the metadata of each offset it commits (`ree-txn:<id>`,
 * beside `ree-seq:<n>`): on assignment, the journal (txn-journal.ts) marks the alerts it holds for
 * the transactions the group's offsets name. The watchlist's transactions write the same form.
 */
import type { SentIn } from './outbox.ts';

/** A topic-partition's committed position; seq counts timer-only transactions at one offset. */
export interface CommittedPosition {
  offset: bigint;
  seq: number;
  /** The transaction that committed it, as its metadata names it (none: an older or a plain commit). */
  txn?: string | undefined;
}

const SEQ_PREFIX = 'ree-seq:';
const TXN_PREFIX = 'ree-txn:';

/**
 * The offset metadata a transaction commits with: its seq (left out at 0) and its id, space
 * separated; undefined when there is neither.
 */
export function offsetMetadata(seq: number, txn?: string): string | undefined {
  const parts = [...(seq > 0 ? [`${SEQ_PREFIX}${seq}`] : []), ...(txn ? [`${TXN_PREFIX}${txn}`] : [])];
  return parts.length > 0 ? parts.join(' ') : undefined;
}

/** The metadata token with `prefix`, without it. */
const tokenOf = (metadata: string | null | undefined, prefix: string): string | undefined =>
  metadata
    ?.split(' ')
    .find((t) => t.startsWith(prefix))
    ?.slice(prefix.length);

/** The seq in committed metadata; anything else (none, another writer's text) is 0. */
export function seqOf(metadata: string | null | undefined): number {
  const seq = Number(tokenOf(metadata, SEQ_PREFIX));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : 0;
}

/** The transaction id in committed metadata; undefined for anything else (none, a plain commit). */
export const txnOf = (metadata: string | null | undefined): string | undefined => tokenOf(metadata, TXN_PREFIX) || undefined;

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

const atOrPast = (held: CommittedPosition, offset: bigint, seq: number) => held.offset > offset || (held.offset === offset && held.seq >= seq);

export class CommittedOffsets {
  private readonly offsets = new Map<string, CommittedPosition & { topic: string; partition: number }>();

  /** After an assignment: what the group has committed, per topic-partition (offset -1: nothing yet). */
  reset(committed: readonly { topic: string; partition: number; offset: string; metadata?: string | null }[]): void {
    this.offsets.clear();
    for (const c of committed) this.offsets.set(keyOf(c.topic, c.partition), { topic: c.topic, partition: c.partition, offset: BigInt(c.offset), seq: seqOf(c.metadata), txn: txnOf(c.metadata) });
  }

  /** After this instance's transaction `txn` committing (`offset`, `seq`) has committed. */
  note(topic: string, partition: number, offset: string, seq = 0, txn?: string): void {
    const key = keyOf(topic, partition);
    const next = BigInt(offset);
    const held = this.offsets.get(key);
    if (!held || !atOrPast(held, next, seq)) this.offsets.set(key, { topic, partition, offset: next, seq, txn });
  }

  /** Whether some topic-partition of partition index `partition` was last committed by transaction `txn`. */
  named(partition: number, txn: string): boolean {
    for (const held of this.offsets.values()) if (held.partition === partition && held.txn === txn) return true;
    return false;
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
