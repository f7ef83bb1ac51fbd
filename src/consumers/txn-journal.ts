/**
 * What a Kafka transaction is about to publish, kept until its alerts are marked published.
 *
 * Alerts go out, and input offsets are committed, in one Kafka transaction; the published markers
 * (which keep the other path to the same finding, a report batch or a watchlist change, from
 * publishing it again) can only be set after that commit. A crash between the commit and the marks
 * would leave committed alerts unmarked, and nothing redelivers their input to mark them. So before
 * committing, the transaction's alerts are written here under its id (which the commit also writes
 * into the offsets' metadata, committed-offsets.ts); after the marks they are released. Whoever
 * next takes the partition (after fencing its earlier owner) marks the held alerts of the
 * transactions the group's offsets name, and drops the rest: they never committed, and their input
 * is redelivered (a watchlist change), or their producers' outboxes send them again (a report batch).
 * Until then the other path reads them here before publishing a watchlist-match (other-path-holds.ts).
 *
 * Used by the watchlist consumer (one journal per watchlist partition) and the report path (one
 * per partition index, output-transactions.ts).
 */
import type { Cluster, Redis } from 'ioredis';
import type { Alert } from '../domain/events.ts';

export interface TxnJournal {
  hold(partition: number, txn: string, alerts: readonly Alert[]): Promise<void>;
  release(partition: number, txn: string): Promise<void>;
  /** Every transaction held for the partition, by id. */
  held(partition: number): Promise<Map<string, Alert[]>>;
}

export function createMemoryTxnJournal(): TxnJournal {
  const byPartition = new Map<number, Map<string, Alert[]>>();
  const of = (p: number) => byPartition.get(p) ?? byPartition.set(p, new Map()).get(p)!;
  return {
    hold: async (p, txn, alerts) => void of(p).set(txn, [...alerts]),
    release: async (p, txn) => void of(p).delete(txn),
    held: async (p) => new Map(of(p)),
  };
}

/**
 * One hash per partition, `<prefix>:<kind>-txn:<group>:<partition>`, field the transaction id:
 * kind `watchlist` for the watchlist group's partitions, `reports` for the report group's indexes.
 */
export function createRedisTxnJournal(options: { redis: Redis | Cluster; prefix: string; kind: 'watchlist' | 'reports'; groupId: string }): TxnJournal {
  const { redis } = options;
  const keyOf = (p: number) => `${options.prefix}:${options.kind}-txn:${options.groupId}:${p}`;
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

/**
 * On taking partitions, after fencing their earlier owners and reading the group's offsets: marks
 * the held alerts of every transaction that committed (`committed` says, from the offsets'
 * metadata) and releases every held transaction of these partitions. What a transaction that
 * never committed held is handed to `forget` first (the watchlist path lets go of its claims).
 */
export async function settleHeld(
  journal: TxnJournal,
  partitions: readonly number[],
  committed: (partition: number, txn: string) => boolean,
  markPublished: (alerts: Alert[]) => Promise<void>,
  forget?: (alerts: Alert[], txn: string, partition: number) => Promise<void>,
): Promise<void> {
  for (const p of partitions) {
    for (const [txn, alerts] of await journal.held(p)) await settleHeldTxn(journal, p, txn, alerts, committed(p, txn), markPublished, forget);
  }
}

/**
 * One held transaction settled, its outcome known: its alerts marked if it committed (else handed
 * to `forget`), then its hold released.
 */
export async function settleHeldTxn(
  journal: TxnJournal,
  partition: number,
  txn: string,
  alerts: Alert[],
  committed: boolean,
  markPublished: (alerts: Alert[]) => Promise<void>,
  forget?: (alerts: Alert[], txn: string, partition: number) => Promise<void>,
): Promise<void> {
  if (committed) await markPublished(alerts);
  else await forget?.(alerts, txn, partition);
  await journal.release(partition, txn);
}
