/**
 * One round trip for many commands, on a single Redis or a Cluster. ioredis refuses a cluster
 * pipeline whose keys live on different nodes, so commands are grouped by the node serving their
 * slot and each group goes out as its own pipeline, all at once. Order within a group is kept,
 * and every key of a producer maps to one slot, so a producer's updates stay in order.
 *
 * Calls made in the same tick share their round trip: their commands are gathered, in call order,
 * and go out together from a `process.nextTick` callback (as ioredis's own auto-pipelining does for
 * single commands): after the code that made the first call and, when that ran in a promise
 * callback, after the promise callbacks queued behind it. A live pass asks for its licences,
 * clients, custody sides and quotas at once, and six passes run side by side; each socket write
 * costs the writer ~130 µs of CPU on a small VM's loopback (bench/README, "Round trips shared per
 * tick"), so one write instead of several is what the live path saves. Nothing a caller sees
 * changes: Redis runs one connection's commands in the order sent, so a call's commands run after
 * those of every call made before it on that client (on a Cluster, on each node), as they did when
 * each call was a pipeline of its own; each call gets its own replies, and a failure reaches only
 * the calls with a command in what failed (one node's pipeline, one command that could not be
 * queued). Commands sent straight through ioredis overtake gathered ones of the same tick: a
 * client is closed only after `sendGathered` (redis-connection.ts).
 */
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import keySlot from 'cluster-key-slot';

export interface QueuedCommand {
  /** A key the command touches; it decides the node. */
  key: string;
  /** Queues one command, with arguments it has already computed (it runs when the round trip goes). */
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

const asError = (err: unknown): Error => (err instanceof Error ? err : new Error(String(err)));

/**
 * One node's pipeline. A command that cannot be queued gets its error as its reply and is not
 * sent; if the pipeline fails as a whole (the connection lost, the node unreachable), each of its
 * commands gets that error as its reply.
 */
async function execGroup(redis: Redis | Cluster, commands: readonly QueuedCommand[], indexes: readonly number[], replies: Reply[]): Promise<void> {
  const pipeline = redis.pipeline();
  /** The commands queued, in pipeline order. */
  const sent: number[] = [];
  for (const i of indexes) {
    try {
      commands[i]!.queue(pipeline);
      sent.push(i);
    } catch (err) {
      replies[i] = [asError(err), null];
    }
  }
  if (sent.length === 0) return;
  try {
    const results = await pipeline.exec();
    if (!results || results.length !== sent.length) throw new Error(`Redis pipeline returned ${results?.length ?? 'no'} replies for ${sent.length} commands`);
    sent.forEach((commandIndex, at) => {
      replies[commandIndex] = results[at] as Reply;
    });
  } catch (err) {
    for (const i of sent) replies[i] = [asError(err), null];
  }
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
}

interface Gathered {
  commands: QueuedCommand[];
  waiters: Waiter[];
}

/** Per client, the calls of the current tick not sent yet. */
const gathering = new WeakMap<Redis | Cluster, Gathered>();

/** Sends the calls gathered on this client now, if any (before closing it: QUIT would overtake them). */
export function sendGathered(redis: Redis | Cluster): void {
  const gathered = gathering.get(redis);
  if (!gathered) return;
  // Calls from here on start the next round trip.
  gathering.delete(redis);
  const { commands, waiters } = gathered;
  void sendNow(redis, commands)
    // sendNow puts what fails in the replies; anything else thrown fails every command alike.
    .catch((err: unknown) => commands.map((): Reply => [asError(err), null]))
    .then((replies) => {
      for (const waiter of waiters) waiter.resolve(waiters.length === 1 ? replies : replies.slice(waiter.from, waiter.to));
    });
}

/**
 * Runs every command; replies are index-aligned with `commands`, each `[error, result]`. Never
 * rejects: what fails is in the replies (sendCommands turns the first into the call's error).
 */
export function execPipelined(redis: Redis | Cluster, commands: readonly QueuedCommand[]): Promise<Reply[]> {
  if (commands.length === 0) return Promise.resolve([]);
  let gathered = gathering.get(redis);
  if (!gathered) {
    gathered = { commands: [], waiters: [] };
    gathering.set(redis, gathered);
    process.nextTick(sendGathered, redis);
  }
  const into = gathered;
  const from = into.commands.length;
  // One at a time: a spread of a replay's save (thousands of commands) could overflow the stack.
  for (const command of commands) into.commands.push(command);
  const to = into.commands.length;
  return new Promise<Reply[]>((resolve) => into.waiters.push({ from, to, resolve }));
}
