/**
 * Which producers have something waiting on the watermark: a rule timer, or alerts in their outbox
 * not yet published (score -Infinity, so the next timer pass re-sends and clears them). Kept per
 * partition so an instance visits only the producers of partitions it owns, including producers
 * evicted from memory or untouched since a restart: a silent producer's timer must still fire.
 *
 * Memory here (replay, tests); Redis in ../state/redis-timer-index.ts (a sorted set per partition).
 */

export interface TimerIndexEntry {
  partition: number;
  producerId: string;
  /** The producer's earliest pending due time; undefined when nothing is pending (removed). */
  dueAt: number | undefined;
}

export interface TimerIndex {
  /**
   * Records each producer's earliest pending due time (or its removal). With `epoch`, the state
   * engine's ownership epoch the entries' save was made under, an entry a newer owner has set
   * since is left as it is: a paused instance's late set must not hide the newer owner's timers.
   */
  set(entries: readonly TimerIndexEntry[], epoch?: number): Promise<void>;
  /** Lowers (or adds) each producer's due time, never raising it: written before a save, so the index is never later than the state. */
  lower(entries: readonly TimerIndexEntry[]): Promise<void>;
  /** Producers of the partition with something due at or before `time`, ordered by producerId. */
  due(partition: number, time: number): Promise<string[]>;
  /**
   * The same for several partitions in one look (one round trip in Redis): every partition asked
   * about is a key, with an empty list when nothing is due. A batch fires every owned partition's
   * timers, and a look per partition cost a round trip each, one after another.
   */
  dueIn(partitions: readonly number[], time: number): Promise<Map<number, string[]>>;
  /** Partitions with anything indexed, ascending (replay fires them all). */
  partitions(): Promise<number[]>;
}

export function createMemoryTimerIndex(): TimerIndex {
  const byPartition = new Map<number, Map<string, number>>();
  const partitionMap = (p: number) => {
    let m = byPartition.get(p);
    if (!m) byPartition.set(p, (m = new Map()));
    return m;
  };
  const dueNow = (partition: number, time: number): string[] => {
    const m = byPartition.get(partition);
    if (!m) return [];
    return [...m].filter(([, dueAt]) => dueAt <= time).map(([id]) => id).sort();
  };
  return {
    async set(entries) {
      for (const e of entries) {
        if (e.dueAt === undefined) byPartition.get(e.partition)?.delete(e.producerId);
        else partitionMap(e.partition).set(e.producerId, e.dueAt);
      }
    },
    async lower(entries) {
      for (const e of entries) {
        if (e.dueAt === undefined) continue;
        const m = partitionMap(e.partition);
        const held = m.get(e.producerId);
        if (held === undefined || e.dueAt < held) m.set(e.producerId, e.dueAt);
      }
    },
    async due(partition, time) {
      return dueNow(partition, time);
    },
    async dueIn(partitions, time) {
      return new Map(partitions.map((p) => [p, dueNow(p, time)]));
    },
    async partitions() {
      return [...byPartition].filter(([, m]) => m.size > 0).map(([p]) => p).sort((a, b) => a - b);
    },
  };
}
