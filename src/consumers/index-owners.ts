/**
 * Which instance owns each report partition index, by ownership epoch, so an instance can tell a
 * transaction the broker aborted (it outlived transactionTimeout, and the broker bumped the
 * producer's epoch) from a newer owner's fence: kafkajs reports both the same way
 * (output-transactions.ts, `stillOwns`).
 *
 * Every assignment takes a new epoch from the shared counter (engine/redis-durability.ts) and then
 * records it here for each index it got, before the index's producers open (which is what fences
 * the earlier owner). The counter alone could only tell the instance assigned last anything: the
 * others' epochs are behind it whether or not anyone took their indexes. One sorted set per group,
 * `<prefix>:reports-owner:<group>`, member the index, score the owner's epoch; a record only ever
 * moves up (ZADD GT), so an instance slow to record an old assignment cannot take an index back.
 */
import type { Cluster, Redis } from 'ioredis';

export interface IndexOwners {
  /** Records `epoch` as the owner of these indexes (unless a newer one already is). */
  claim(partitions: readonly number[], epoch: number): Promise<void>;
  /** Whether `epoch` is still the recorded owner of the index. */
  owns(partition: number, epoch: number): Promise<boolean>;
}

export function createRedisIndexOwners(options: { redis: Redis | Cluster; prefix: string; groupId: string }): IndexOwners {
  const { redis } = options;
  const key = `${options.prefix}:reports-owner:${options.groupId}`;
  return {
    async claim(partitions, epoch) {
      if (partitions.length === 0) return;
      await redis.zadd(key, 'GT', ...partitions.flatMap((p) => [epoch, String(p)]));
    },
    async owns(partition, epoch) {
      return Number(await redis.zscore(key, String(partition))) === epoch;
    },
  };
}
