/**
 * One round trip for many commands, on a single Redis or a Cluster. ioredis refuses a cluster
 * pipeline whose keys live on different nodes, so commands are grouped by the node serving their
 * slot and each group goes out as its own pipeline, all at once. Order within a group is kept,
 * and every key of a producer maps to one slot, so a producer's updates stay in order.
 *
 * Calls made in the same tick share their round trip: their commands are gathered, in call order,
 * and go out together once the tick's synchronous work and promise callbacks are done (as ioredis's
 * own auto-pipelining does for single commands). A live pass asks for its licences, clients,
 * custody sides and quotas at once, and six passes run side by side; each socket write costs the
 * writer ~130 µs on this machine's loopback (bench/README), so one write instead of several is
 * what the live path saves. Each call still gets its own replies, and Redis runs one connection's
 * commands in the order sent, so nothing a caller sees changes: a call's commands run after those
 * of every call made before it on that client, as they did when each call was a pipeline of its own.
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

/** Sends the commands now, a pipeline per node; replies are index-aligned with `commands`. */
async function sendNow(redis: Redis | Cluster, commands: readonly QueuedCommand[]): Promise<Reply[]> {
  const replies: Reply[] = new Array(commands.length);
  const groups = redis.isCluster ? groupByNode(redis as Cluster, commands) : [commands.map((_, i) => i)];
  await Promise.all(groups.map((indexes) => execGroup(redis, commands, indexes, replies)));
  return replies;
}

/** One call's share of a gathered round trip: its commands are `commands[from, to)`. */
interface Waiter {
  from: number;
  to: number;
  resolve(replies: Reply[]): void;
  reject(err: unknown): void;
}

interface Gathered {
  commands: QueuedCommand[];
  waiters: Waiter[];
}

/** Per client, the calls of the current tick not sent yet. */
const gathering = new WeakMap<Redis | Cluster, Gathered>();

async function sendGathered(redis: Redis | Cluster, gathered: Gathered): Promise<void> {
  // Calls from here on start the next round trip.
  gathering.delete(redis);
  let replies: Reply[];
  try {
    replies = await sendNow(redis, gathered.commands);
  } catch (err) {
    for (const waiter of gathered.waiters) waiter.reject(err);
    return;
  }
  for (const waiter of gathered.waiters) waiter.resolve(gathered.waiters.length === 1 ? replies : replies.slice(waiter.from, waiter.to));
}

/**
 * Runs every command; replies are index-aligned with `commands`. Rejects only if a pipeline as a
 * whole fails (then every call sharing its round trip does).
 */
export function execPipelined(redis: Redis | Cluster, commands: readonly QueuedCommand[]): Promise<Reply[]> {
  if (commands.length === 0) return Promise.resolve([]);
  let gathered = gathering.get(redis);
  if (!gathered) {
    const started: Gathered = { commands: [], waiters: [] };
    gathering.set(redis, started);
    // After the promise callbacks running now: a pass's calls made after an await of the same
    // reply join too.
    process.nextTick(() => void sendGathered(redis, started));
    gathered = started;
  }
  const from = gathered.commands.length;
  // One at a time: a spread of a replay's save (thousands of commands) could overflow the stack.
  for (const command of commands) gathered.commands.push(command);
  const to = gathered.commands.length;
  return new Promise<Reply[]>((resolve, reject) => gathered.waiters.push({ from, to, resolve, reject }));
}
