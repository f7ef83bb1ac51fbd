/**
 * Keeps the four report topics of one partition index in step by record time.
 *
 * A producer's clock (the latest occurredAt among its reports) decides when a day's balance is
 * judged, and its reports arrive on four topics. After an outage, or on a first start over a
 * backlog, kafkajs may hand over weeks of shipments before the production that covers them; the
 * clock would leap and every day would look short. So a batch whose first record is more than
 * `slackMs` ahead of a sibling topic-partition that still has records waiting is held back (the
 * caller pauses it without resolving) until the sibling catches up.
 *
 * A sibling never seen yet counts as behind, but only for `maxHoldMs` of wall time: an empty
 * topic-partition must not stall the others forever. Pure: time is passed in.
 */
export interface AlignerOptions {
  slackMs: number;
  maxHoldMs: number;
}

interface PartitionState {
  /** Latest record timestamp processed, and records still waiting after that batch. */
  lastTs?: number;
  lag?: number;
  /** First record time of a batch that was held back: what this topic-partition waits with. */
  peekTs?: number;
}

export class EventTimeAligner {
  private readonly state = new Map<string, PartitionState>();
  private readonly holdingSince = new Map<string, number>();
  private readonly topics: readonly string[];
  private readonly options: AlignerOptions;

  constructor(topics: readonly string[], options: AlignerOptions) {
    this.topics = topics;
    this.options = options;
  }

  private key(topic: string, partition: number) {
    return `${topic}\u0000${partition}`;
  }

  /** Records what a processed batch reached. */
  observe(topic: string, partition: number, lastTs: number, lag: number): void {
    const key = this.key(topic, partition);
    const prev = this.state.get(key);
    this.state.set(key, { lastTs: Math.max(prev?.lastTs ?? -Infinity, lastTs), lag, peekTs: undefined });
    this.holdingSince.delete(key);
  }

  /**
   * The latest record time this topic-partition may process now: the slowest sibling that still
   * has records waiting, plus the slack. Infinity when nothing holds it back; -Infinity while an
   * unseen sibling is waited for (up to maxHoldMs of wall time, `nowMs`).
   */
  limit(topic: string, partition: number, nowMs: number): number {
    const key = this.key(topic, partition);
    const since = this.holdingSince.get(key) ?? nowMs;
    const patient = nowMs - since < this.options.maxHoldMs;
    let limit = Infinity;
    for (const sibling of this.topics) {
      if (sibling === topic) continue;
      const s = this.state.get(this.key(sibling, partition));
      if (s?.peekTs !== undefined) {
        // Held siblings show what they wait with, so when all are held the earliest goes first.
        limit = Math.min(limit, s.peekTs + this.options.slackMs);
      } else if (s?.lag !== undefined && s.lastTs !== undefined) {
        if (s.lag > 0) limit = Math.min(limit, s.lastTs + this.options.slackMs);
      } else if (patient) {
        limit = -Infinity;
      }
    }
    return limit;
  }

  /** A topic-partition known to have nothing waiting (e.g. from offsets at start): nobody waits for it. */
  markIdle(topic: string, partition: number): void {
    const key = this.key(topic, partition);
    if (!this.state.has(key)) this.state.set(key, { lastTs: -Infinity, lag: 0 });
  }

  /** Call when a batch starting at `firstTs` was held back entirely. */
  held(topic: string, partition: number, firstTs: number, nowMs: number): void {
    const key = this.key(topic, partition);
    if (!this.holdingSince.has(key)) this.holdingSince.set(key, nowMs);
    this.state.set(key, { ...this.state.get(key), peekTs: firstTs });
  }

  /** Whether a batch starting at `firstTs` must wait entirely. */
  shouldHold(topic: string, partition: number, firstTs: number, nowMs: number): boolean {
    const hold = firstTs > this.limit(topic, partition, nowMs);
    if (hold) this.held(topic, partition, firstTs, nowMs);
    return hold;
  }

  /** Topic-partitions of this partition index that may have been held and can be retried now. */
  siblings(topic: string, partition: number): { topic: string; partitions: number[] }[] {
    return this.topics.filter((t) => t !== topic).map((t) => ({ topic: t, partitions: [partition] }));
  }

  /** Forget a partition on rebalance: its new owner starts from what is committed. */
  forgetPartitions(): void {
    this.state.clear();
    this.holdingSince.clear();
  }
}
