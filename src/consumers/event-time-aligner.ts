/**
 * Keeps the four report topics of one partition index in step by the reports' own time (occurredAt),
 * never by Kafka record time: record times are whatever producers set, and a backlog loaded in
 * seconds, or produced with kcat, has them all within moments of each other.
 *
 * A producer's clock (the latest occurredAt among its reports) decides when a day's balance is
 * judged, and its reports arrive on four topics. After an outage, or on a first start over a
 * backlog, kafkajs may hand over weeks of shipments before the production that covers them; the
 * clock would leap and every day would look short. So a batch whose first record is more than
 * `slackMs` ahead of a sibling topic-partition that still has records waiting is held back (the
 * caller pauses it without resolving) until the sibling catches up.
 *
 * A sibling never seen yet counts as behind, but only for `maxHoldMs` of wall time from when it was
 * first waited for: an empty topic-partition must not stall the others forever. Once that patience
 * has run out nobody waits for it again until it shows up; otherwise every batch of its siblings
 * would wait out the whole patience anew. Pure: time is passed in.
 *
 * "Nothing waiting" is only true when it was learnt: a sibling read to its end (or empty at the
 * join) may have had records written since, and a fetch can bring one topic's part of a burst
 * before its siblings' (the broker appends a produce request's partitions one by one). So a batch
 * that would run more than the slack ahead of a sibling believed caught up asks for that sibling's
 * end first (`unconfirmed`, then `confirmEnd`), and waits for it if records are there.
 */
export interface AlignerOptions {
  slackMs: number;
  maxHoldMs: number;
}

interface PartitionState {
  /** Latest report time processed, and records still waiting after that batch. */
  lastTs?: number;
  lag?: number;
  /** The next offset to read when `lag` was learnt: an end read later says whether records came since. */
  next?: string;
  /** The end (high watermark) `lag` counts to: `lag` is end - next. */
  end?: string;
  /**
   * Wall time an end read (confirmEnd) found records waiting. If they do not come within maxHoldMs
   * they may be transaction markers kafkajs never hands over as a batch: nobody waits longer.
   */
  confirmedAt?: number;
  /**
   * First report time of what this topic-partition waits with: a batch held back, or the rest of a
   * batch that was cut.
   */
  peekTs?: number;
}

export class EventTimeAligner {
  private readonly state = new Map<string, PartitionState>();
  /** Unseen topic-partition → wall time its siblings began waiting for it. */
  private readonly awaitedSince = new Map<string, number>();
  private readonly topics: readonly string[];
  private readonly options: AlignerOptions;

  constructor(topics: readonly string[], options: AlignerOptions) {
    this.topics = topics;
    this.options = options;
  }

  private key(topic: string, partition: number) {
    return `${topic}\u0000${partition}`;
  }

  /** Records what a processed batch reached: its latest report time, what is left after it, and the next offset. */
  observe(topic: string, partition: number, lastTs: number, lag: number, next?: string): void {
    const key = this.key(topic, partition);
    const prev = this.state.get(key);
    const end = next === undefined ? undefined : String(BigInt(next) + BigInt(lag));
    this.state.set(key, { lastTs: Math.max(prev?.lastTs ?? -Infinity, lastTs), lag, next, end, peekTs: undefined });
    this.awaitedSince.delete(key);
  }

  /**
   * Siblings believed to have nothing waiting (read to their end, or empty at the join) that a
   * batch reaching `latestTs` would run more than the slack ahead of: their ends must be read
   * before it goes (confirmEnd). Empty when none.
   */
  unconfirmed(topic: string, partition: number, latestTs: number): { topic: string; partition: number; next: string }[] {
    const out: { topic: string; partition: number; next: string }[] = [];
    for (const sibling of this.topics) {
      if (sibling === topic) continue;
      const s = this.state.get(this.key(sibling, partition));
      if (s?.lag === 0 && s.peekTs === undefined && s.next !== undefined && (s.lastTs ?? -Infinity) + this.options.slackMs < latestTs) out.push({ topic: sibling, partition, next: s.next });
    }
    return out;
  }

  /** Whether any sibling is believed to have nothing waiting: only then can a batch need unconfirmed's look. */
  trustsCaughtUp(topic: string, partition: number): boolean {
    return this.topics.some((sibling) => {
      if (sibling === topic) return false;
      const s = this.state.get(this.key(sibling, partition));
      return s?.lag === 0 && s.peekTs === undefined && s.next !== undefined;
    });
  }

  /**
   * A sibling's end (its high watermark) as read now, for the next offset `next` it was believed
   * caught up at: records written since are waiting, and the siblings ahead of it wait for them.
   * Ignored if the sibling has moved on meanwhile (a batch of it was taken since the look began).
   */
  confirmEnd(topic: string, partition: number, next: string, high: string, nowMs: number): void {
    const s = this.state.get(this.key(topic, partition));
    if (!s || s.next !== next || s.lag !== 0) return;
    const waiting = BigInt(high) - BigInt(next);
    if (waiting <= 0n) return;
    s.lag = Number(waiting);
    s.end = high;
    s.confirmedAt = nowMs;
  }

  /**
   * A topic-partition read past `next` with nothing handed over (transaction markers only, which
   * kafkajs filters out): what an end read counted there is not waiting any more.
   */
  passed(topic: string, partition: number, next: string): void {
    const s = this.state.get(this.key(topic, partition));
    if (!s || s.next === undefined || BigInt(next) <= BigInt(s.next)) return;
    s.next = next;
    const left = s.end === undefined ? 0n : BigInt(s.end) - BigInt(next);
    s.lag = left > 0n ? Number(left) : 0;
    if (s.lag === 0) {
      s.end = next;
      s.confirmedAt = undefined;
    }
  }

  /**
   * The latest report time this topic-partition may process now: the slowest sibling that still
   * has records waiting, plus the slack. Infinity when nothing holds it back; -Infinity while an
   * unseen sibling is waited for (up to maxHoldMs of wall time, `nowMs`).
   */
  limit(topic: string, partition: number, nowMs: number): number {
    let limit = Infinity;
    for (const sibling of this.topics) {
      if (sibling === topic) continue;
      const siblingKey = this.key(sibling, partition);
      const s = this.state.get(siblingKey);
      if (s?.peekTs !== undefined) {
        // Held siblings show what they wait with, so when all are held the earliest goes first.
        limit = Math.min(limit, s.peekTs + this.options.slackMs);
      } else if (s?.lag !== undefined && s.lastTs !== undefined) {
        const waitedOut = s.confirmedAt !== undefined && nowMs - s.confirmedAt >= this.options.maxHoldMs;
        if (s.lag > 0 && !waitedOut) limit = Math.min(limit, s.lastTs + this.options.slackMs);
      } else if (nowMs - (this.awaitedSince.get(siblingKey) ?? nowMs) < this.options.maxHoldMs) {
        limit = -Infinity;
      }
    }
    return limit;
  }

  /** A topic-partition known to have nothing waiting at `next` (e.g. from offsets at the join): nobody waits for it. */
  markIdle(topic: string, partition: number, next?: string): void {
    const key = this.key(topic, partition);
    if (!this.state.has(key)) this.state.set(key, { lastTs: -Infinity, lag: 0, next, end: next });
    this.awaitedSince.delete(key);
  }

  /** Call when a batch starting at `firstTs` was held back entirely. */
  held(topic: string, partition: number, firstTs: number, nowMs: number): void {
    const key = this.key(topic, partition);
    for (const sibling of this.topics) {
      const siblingKey = this.key(sibling, partition);
      if (sibling !== topic && !this.state.has(siblingKey) && !this.awaitedSince.has(siblingKey)) this.awaitedSince.set(siblingKey, nowMs);
    }
    this.state.set(key, { ...this.state.get(key), peekTs: firstTs });
    this.awaitedSince.delete(key);
  }

  /**
   * Call after a batch was cut, with the report time of the first record not taken. The rest waits
   * like a held batch, showing its time: two siblings cut at once, each beyond what the other has
   * reached, must not wait for each other (the earliest goes first).
   */
  cut(topic: string, partition: number, nextTs: number): void {
    const key = this.key(topic, partition);
    this.state.set(key, { ...this.state.get(key), peekTs: nextTs });
  }

  /**
   * Siblings, held or cut, whose next record is within their limit now. The caller resumes these
   * after every step, so alignment moves as fast as fetches allow rather than waiting for a timer,
   * and never resumes a sibling only for it to be held again.
   */
  releasable(topic: string, partition: number, nowMs: number): { topic: string; partitions: number[] }[] {
    return this.topics
      .filter((sibling) => {
        if (sibling === topic) return false;
        const waitsWith = this.state.get(this.key(sibling, partition))?.peekTs;
        return waitsWith !== undefined && waitsWith <= this.limit(sibling, partition, nowMs);
      })
      .map((t) => ({ topic: t, partitions: [partition] }));
  }

  /** Whether a batch starting at `firstTs` must wait entirely. */
  shouldHold(topic: string, partition: number, firstTs: number, nowMs: number): boolean {
    const hold = firstTs > this.limit(topic, partition, nowMs);
    if (hold) this.held(topic, partition, firstTs, nowMs);
    return hold;
  }

  /** Forget a partition on rebalance: its new owner starts from what is committed. */
  forgetPartitions(): void {
    this.state.clear();
    this.awaitedSince.clear();
  }
}

/**
 * How many records from the start of a batch may go under `limit`. Producers' clocks and retries
 * put records out of time order, so the cut is at the first record beyond the limit: a later record
 * within it must not overtake one that has to wait.
 */
export function alignedPrefixLength(timestamps: readonly number[], limit: number): number {
  const beyond = timestamps.findIndex((ts) => ts > limit);
  return beyond === -1 ? timestamps.length : beyond;
}
