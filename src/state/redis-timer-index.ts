/**
 * The timer index (pipeline/timer-index.ts) in Redis: one sorted set per partition, member the
 * producerId, score the producer's earliest pending time (-inf while its outbox waits). Durable,
 * so a producer evicted from memory, or untouched since a restart, or whose partition moved to
 * another instance, still has its timers fired by whichever instance owns the partition.
 */
import type { Cluster, Redis } from 'ioredis';
import type { TimerIndex, TimerIndexEntry } from '../pipeline/timer-index.ts';
import { assertKeyPart, createKeyBuilder } from './keys.ts';
import { sendCommands } from './redis-commands.ts';
import { StateScripts } from './scripts.ts';
import type { QueuedCommand } from './redis-pipelines.ts';

const score = (t: number): string => (t === -Infinity ? '-inf' : String(t));

export function createRedisTimerIndex(options: { redis: Redis | Cluster; prefix: string }): TimerIndex {
  const { redis } = options;
  const keys = createKeyBuilder(options.prefix);
  const scripts = new StateScripts(redis, keys);
  /** The entries' commands, and the partitions they index added to the set of them, in one round trip. */
  const send = async (entries: readonly TimerIndexEntry[], commands: QueuedCommand[]) => {
    const indexed = [...new Set(entries.filter((e) => e.dueAt !== undefined).map((e) => String(e.partition)))];
    const all = keys.timerPartitions();
    if (indexed.length > 0) commands.push({ key: all, queue: (p) => p.sadd(all, ...indexed) });
    await sendCommands(redis, 'index producer timers', commands);
  };
  return {
    // One script call per partition (setTimerIndex-2.lua). Without an epoch (a pipeline given no
    // ownershipEpoch, as in tests) it sets as epoch 0: unfenced while nothing sets under a real one.
    async set(entries, epoch = 0) {
      if (entries.length === 0) return;
      const byPartition = new Map<number, [string, string][]>();
      for (const e of entries) {
        assertKeyPart(e.producerId, 'producerId');
        const list = byPartition.get(e.partition) ?? byPartition.set(e.partition, []).get(e.partition)!;
        list.push([e.producerId, e.dueAt === undefined ? '' : score(e.dueAt)]);
      }
      await send(entries, [...byPartition].map(([partition, list]) => scripts.setTimerIndex(partition, epoch, list)));
    },
    // LT adds a new member, and only lowers an existing one.
    async lower(entries) {
      const lowered = entries.filter((e) => e.dueAt !== undefined);
      if (lowered.length === 0) return;
      await send(
        lowered,
        lowered.map((e): QueuedCommand => {
          assertKeyPart(e.producerId, 'producerId');
          const key = keys.timerIndex(e.partition);
          const { producerId } = e;
          const at = score(e.dueAt!);
          return { key, queue: (p) => p.zadd(key, 'LT', at, producerId) };
        }),
      );
    },
    async due(partition, time) {
      const key = keys.timerIndex(partition);
      const [ids] = await sendCommands(redis, 'read due producer timers', [{ key, queue: (p) => p.zrangebyscore(key, '-inf', score(time)) }]);
      return [...(ids as string[])].sort();
    },
    async dueIn(partitions, time) {
      const which = [...new Set(partitions)];
      if (which.length === 0) return new Map();
      const commands = which.map((partition): QueuedCommand => {
        const key = keys.timerIndex(partition);
        return { key, queue: (p) => p.zrangebyscore(key, '-inf', score(time)) };
      });
      const replies = await sendCommands(redis, 'read due producer timers', commands);
      return new Map(which.map((partition, i) => [partition, [...(replies[i] as string[])].sort()]));
    },
    async partitions() {
      const all = keys.timerPartitions();
      const [members] = await sendCommands(redis, 'read timer partitions', [{ key: all, queue: (p) => p.smembers(all) }]);
      return (members as string[]).map(Number).sort((a, b) => a - b);
    },
  };
}
