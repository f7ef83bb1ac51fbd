/**
 * What a watchlist transaction is about to publish, kept until its alerts are marked published.
 *
 * A watchlist change's alerts go out, and its offset is committed, in one Kafka transaction; the
 * published markers (which keep a report batch from publishing the same finding again) can only be
 * set after that commit. A crash between the commit and the marks would leave committed alerts
 * unmarked, and the change is not redelivered to mark them. So before committing, the transaction's
 * alerts are written here under its id (which the commit also writes into the offset's metadata);
 * after the marks they are released. Whoever next takes the partition (after fencing its earlier
 * owner) marks the held alerts of the transaction the group's offset names, and drops the rest:
 * their transactions never committed, and their changes are redelivered.
 */
import type { Cluster, Redis } from 'ioredis';
import type { Alert } from '../domain/events.ts';

export interface WatchlistJournal {
  hold(partition: number, txn: string, alerts: readonly Alert[]): Promise<void>;
  release(partition: number, txn: string): Promise<void>;
  /** Every transaction held for the partition, by id. */
  held(partition: number): Promise<Map<string, Alert[]>>;
}

export function createMemoryWatchlistJournal(): WatchlistJournal {
  const byPartition = new Map<number, Map<string, Alert[]>>();
  const of = (p: number) => byPartition.get(p) ?? byPartition.set(p, new Map()).get(p)!;
  return {
    hold: async (p, txn, alerts) => void of(p).set(txn, [...alerts]),
    release: async (p, txn) => void of(p).delete(txn),
    held: async (p) => new Map(of(p)),
  };
}

/** One hash per watchlist partition, `<prefix>:watchlist-txn:<group>:<partition>`, field the transaction id. */
export function createRedisWatchlistJournal(options: { redis: Redis | Cluster; prefix: string; groupId: string }): WatchlistJournal {
  const { redis } = options;
  const keyOf = (p: number) => `${options.prefix}:watchlist-txn:${options.groupId}:${p}`;
  return {
    async hold(p, txn, alerts) {
      await redis.hset(keyOf(p), txn, JSON.stringify(alerts));
    },
    async release(p, txn) {
      await redis.hdel(keyOf(p), txn);
    },
    async held(p) {
      const all = await redis.hgetall(keyOf(p));
      return new Map(Object.entries(all).map(([txn, json]) => [txn, JSON.parse(json) as Alert[]]));
    },
  };
}
