/**
 * One holder at a time per key. Two batches of one partition index (shipments/3 and receipts/3,
 * co-partitioned, so the same producers) and the timer pass of that partition must not work on the
 * same producers at once: the engine's in-memory state and its save are per batch.
 */
import { Mutex } from 'async-mutex';

export interface KeyedLock<K> {
  /** Runs `work` holding every key (taken in ascending order, so two holders never deadlock). */
  with<T>(keys: Iterable<K>, work: () => Promise<T>): Promise<T>;
}

export function createKeyedLock<K extends number | string>(): KeyedLock<K> {
  const locks = new Map<K, Mutex>();
  const lockOf = (k: K) => {
    let m = locks.get(k);
    if (!m) locks.set(k, (m = new Mutex()));
    return m;
  };
  return {
    async with(keys, work) {
      const sorted = [...new Set(keys)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      const releases: (() => void)[] = [];
      try {
        for (const k of sorted) releases.push(await lockOf(k).acquire());
        return await work();
      } finally {
        for (const release of releases.reverse()) release();
      }
    },
  };
}
