/**
 * Engine state made durable in Redis, one hash per producer (`{producerId}:state`, fields as
 * producer-state.ts writes them) beside the producer's owner epoch (`{producerId}:epoch`). Both
 * share the producer's hash tag, so each script touches one slot and runs on Redis Cluster.
 *
 * Fencing: each engine instance works under an ownership epoch, a number from a counter in Redis,
 * higher for every later claim. Loading a producer claims it (loadProducer-2.lua raises the
 * producer's epoch to ours); saving is refused once a higher epoch has claimed it
 * (saveProducer-2.lua). So when a partition moves, the new owner's first load fences the old one:
 * a paused old owner that wakes up and saves is refused and cannot overwrite the new owner's
 * state. A new epoch is taken at start and should be taken again at every partition assignment.
 */
import type { Cluster, Redis } from 'ioredis';
import { ReeError } from '../../errors.ts';
import { createKeyBuilder } from '../keys.ts';
import { sendCommands } from '../redis-commands.ts';
import { StateScripts } from '../scripts.ts';
import type { Durability } from './durability.ts';

export interface RedisDurabilityOptions {
  redis: Redis | Cluster;
  prefix: string;
  /** The ownership epoch to work under; by default a new one is taken from Redis on first use. */
  epoch?: number | undefined;
}

export interface RedisDurability extends Durability {
  /** The epoch this instance works under (taking one if it has none yet). */
  epoch(): Promise<number>;
  /** Takes a new, higher epoch: call when partitions are (re)assigned to this instance. */
  renewEpoch(): Promise<number>;
}

function fenced(producers: { producerId: string; ownerEpoch: number }[], mine: number, operation: string): ReeError {
  const named = producers.slice(0, 5).map((p) => `${p.producerId} (epoch ${p.ownerEpoch})`).join(', ');
  return new ReeError('REE_ERR_FENCED', `cannot ${operation}: ${producers.length} producer(s) now belong to a newer owner than this instance's epoch ${mine}: ${named}`, {
    retriable: false,
    context: { epoch: mine, producers: producers.map((p) => p.producerId) },
  });
}

export function createRedisDurability(options: RedisDurabilityOptions): RedisDurability {
  const { redis } = options;
  const keys = createKeyBuilder(options.prefix);
  const scripts = new StateScripts(redis, keys);
  let current = options.epoch;
  if (current !== undefined && !(Number.isSafeInteger(current) && current > 0)) {
    throw new ReeError('REE_ERR_CONFIG', `the ownership epoch must be a positive whole number, got ${current}`);
  }

  const renewEpoch = async (): Promise<number> => {
    const [next] = await sendCommands(redis, 'take an ownership epoch', [{ key: keys.epochCounter(), queue: (p) => p.incr(keys.epochCounter()) }]);
    current = Number(next);
    return current;
  };
  const epoch = async (): Promise<number> => current ?? renewEpoch();

  return {
    epoch,
    renewEpoch,

    async load(producerIds) {
      const mine = await epoch();
      const replies = await sendCommands(redis, 'load producer state', producerIds.map((id) => scripts.loadProducer(id, mine)));
      const out = new Map<string, Map<string, string>>();
      const refused: { producerId: string; ownerEpoch: number }[] = [];
      replies.forEach((reply, i) => {
        const decoded = scripts.decodeLoadProducer(reply);
        if ('fields' in decoded) out.set(producerIds[i]!, decoded.fields);
        else refused.push({ producerId: producerIds[i]!, ownerEpoch: decoded.ownerEpoch });
      });
      if (refused.length > 0) throw fenced(refused, mine, 'load producer state');
      return out;
    },

    async save(changes) {
      const mine = await epoch();
      const ids = [...changes.keys()];
      const replies = await sendCommands(redis, 'save producer state', ids.map((id) => scripts.saveProducer(id, mine, changes.get(id)!)));
      const refused: { producerId: string; ownerEpoch: number }[] = [];
      replies.forEach((reply, i) => {
        const ownerEpoch = scripts.decodeSaveProducer(reply);
        if (ownerEpoch !== null) refused.push({ producerId: ids[i]!, ownerEpoch });
      });
      if (refused.length > 0) throw fenced(refused, mine, 'save producer state');
    },

    async close() {},
  };
}
