/**
 * One round trip for many commands, on a single Redis or a Cluster. ioredis refuses a cluster
 * pipeline whose keys live on different nodes, so commands are grouped by the node serving their
 * slot and each group goes out as its own pipeline, all at once. Order within a group is kept,
 * and every key of a producer maps to one slot, so a producer's updates stay in order.
 */
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import keySlot from 'cluster-key-slot';

export interface QueuedCommand {
  /** A key the command touches; it decides the node. */
  key: string;
  queue(pipeline: ChainableCommander): void;
}

export type Reply = [error: Error | null, result: unknown];

function groupByNode(redis: Cluster, commands: readonly QueuedCommand[]): number[][] {
  const groups = new Map<string, number[]>();
  commands.forEach((command, index) => {
    const slot = keySlot(command.key);
    // Before the slot map is known each slot gets its own pipeline; ioredis waits for the map.
    const node = redis.slots[slot]?.join(';') ?? `slot:${slot}`;
    const group = groups.get(node);
    if (group) group.push(index);
    else groups.set(node, [index]);
  });
  return [...groups.values()];
}

async function execGroup(redis: Redis | Cluster, commands: readonly QueuedCommand[], indexes: readonly number[], replies: Reply[]): Promise<void> {
  const pipeline = redis.pipeline();
  for (const i of indexes) commands[i]!.queue(pipeline);
  const results = await pipeline.exec();
  if (!results || results.length !== indexes.length) {
    throw new Error(`Redis pipeline returned ${results?.length ?? 'no'} replies for ${indexes.length} commands`);
  }
  indexes.forEach((commandIndex, i) => {
    replies[commandIndex] = results[i] as Reply;
  });
}

/** Runs every command; replies are index-aligned with `commands`. Rejects only if a pipeline as a whole fails. */
export async function execPipelined(redis: Redis | Cluster, commands: readonly QueuedCommand[]): Promise<Reply[]> {
  if (commands.length === 0) return [];
  const replies: Reply[] = new Array(commands.length);
  const groups = redis.isCluster ? groupByNode(redis as Cluster, commands) : [commands.map((_, i) => i)];
  await Promise.all(groups.map((indexes) => execGroup(redis, commands, indexes, replies)));
  return replies;
}
