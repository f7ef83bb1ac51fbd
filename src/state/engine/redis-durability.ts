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
 *
 * Edits: a save rewrites most of a producer's large fields every batch (an applied span, a book
 * chunk, a timer queue, a recent-events cell) while the text changes in one place, near the end.
 * So this instance remembers the text it last loaded or wrote for each large field, and sends a
 * changed one as an edit (textEdit: the bytes to keep from each end, and the new middle), which
 * the script applies to the stored text if it has the length expected. Stored fields are the same
 * either way. The memory is forgotten wherever it may no longer be what Redis holds: a failed or
 * refused save, a new epoch; an edit that finds another length is sent again whole.
 */
import type { Cluster, Redis } from 'ioredis';
import { ReeError } from '../../errors.ts';
import { createKeyBuilder } from '../keys.ts';
import { sendCommands } from '../redis-commands.ts';
import { StateScripts, type FieldEdit } from '../scripts.ts';
import type { Durability } from './durability.ts';
import { DEFAULT_MAX_CACHED_PRODUCERS } from './engine.ts';
import type { ProducerChanges } from './producer-state.ts';

export interface RedisDurabilityOptions {
  redis: Redis | Cluster;
  prefix: string;
  /** The ownership epoch to work under; by default a new one is taken from Redis on first use. */
  epoch?: number | undefined;
  /**
   * Producers whose last written texts are remembered to send edits (least recently saved or
   * loaded forgotten first); each costs about its stored size in this process's heap. Default: as
   * many as the engine keeps (DEFAULT_MAX_CACHED_PRODUCERS); 0 sends every field whole.
   */
  maxRememberedProducers?: number | undefined;
}

export interface RedisDurability extends Durability {
  /** The epoch this instance works under (taking one if it has none yet). */
  epoch(): Promise<number>;
  /** Takes a new, higher epoch: call when partitions are (re)assigned to this instance. */
  renewEpoch(): Promise<number>;
}

/** Fields shorter than this are sent whole: an edit of them saves too little to be worth remembering them. */
export const MIN_EDITED_LENGTH = 128;
/** An edit is sent only when it keeps at least this many characters of the stored text. */
const MIN_KEPT = 64;

/** UTF-8 bytes of a UTF-16 unit outside the surrogates (a pair is never kept, so never split). */
const utf8Bytes = (c: number): number => (c < 0x80 ? 1 : c < 0x800 ? 2 : 3);
const isSurrogate = (c: number): boolean => c >= 0xd800 && c <= 0xdfff;

/**
 * `text` as an edit of `stored`: the bytes (UTF-8, as the script counts) kept from its start
 * (`head`) and end (`tail`), and the new `middle`; null when too little would be kept.
 */
export function textEdit(stored: string, text: string): { head: number; tail: number; middle: string } | null {
  const most = Math.min(stored.length, text.length);
  let head = 0;
  let headBytes = 0;
  while (head < most) {
    const c = text.charCodeAt(head);
    if (c !== stored.charCodeAt(head) || isSurrogate(c)) break;
    head += 1;
    headBytes += utf8Bytes(c);
  }
  let tail = 0;
  let tailBytes = 0;
  const tailMost = most - head;
  let s = stored.length - 1;
  let t = text.length - 1;
  while (tail < tailMost) {
    const c = text.charCodeAt(t);
    if (c !== stored.charCodeAt(s) || isSurrogate(c)) break;
    tail += 1;
    tailBytes += utf8Bytes(c);
    s -= 1;
    t -= 1;
  }
  if (head + tail < MIN_KEPT) return null;
  return { head: headBytes, tail: tailBytes, middle: text.slice(head, text.length - tail) };
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
  const maxRemembered = options.maxRememberedProducers ?? DEFAULT_MAX_CACHED_PRODUCERS;
  /** Per producer, least recently used first: field → the text Redis holds (large fields only). */
  const remembered = new Map<string, Map<string, string>>();
  const remember = (producerId: string, texts: Map<string, string>): void => {
    remembered.delete(producerId);
    if (maxRemembered <= 0) return;
    remembered.set(producerId, texts);
    for (const id of remembered.keys()) {
      if (remembered.size <= maxRemembered) break;
      remembered.delete(id);
    }
  };

  const renewEpoch = async (): Promise<number> => {
    const [next] = await sendCommands(redis, 'take an ownership epoch', [{ key: keys.epochCounter(), queue: (p) => p.incr(keys.epochCounter()) }]);
    current = Number(next);
    // Another owner may have written our producers since: send whole texts until they are loaded again.
    remembered.clear();
    return current;
  };
  const epoch = async (): Promise<number> => current ?? renewEpoch();

  /** Sends the producers' changes, as edits where `withEdits`; the producers whose edits met other texts. */
  const send = async (mine: number, changes: ReadonlyMap<string, ProducerChanges>, withEdits: boolean): Promise<string[]> => {
    const ids = [...changes.keys()];
    const commands = ids.map((id) => {
      const fields = changes.get(id)!;
      const kept = withEdits ? remembered.get(id) : undefined;
      if (!kept) return scripts.saveProducer(id, mine, fields);
      const whole: ProducerChanges = new Map();
      const edits: FieldEdit[] = [];
      for (const [field, text] of fields) {
        const stored = text === null ? undefined : kept.get(field);
        const edit = stored === undefined ? null : textEdit(stored, text!);
        if (edit) edits.push({ field, storedBytes: Buffer.byteLength(stored!), ...edit });
        else whole.set(field, text);
      }
      return scripts.saveProducer(id, mine, whole, edits);
    });
    let replies: unknown[];
    try {
      replies = await sendCommands(redis, 'save producer state', commands);
    } catch (err) {
      // Some of these may be written, some not: what Redis holds is unknown until loaded again.
      for (const id of ids) remembered.delete(id);
      throw err;
    }
    const refused: { producerId: string; ownerEpoch: number }[] = [];
    const mismatched: string[] = [];
    replies.forEach((reply, i) => {
      const id = ids[i]!;
      const outcome = scripts.decodeSaveProducer(reply);
      if ('written' in outcome) {
        const kept = remembered.get(id) ?? new Map<string, string>();
        for (const [field, text] of changes.get(id)!) {
          if (text !== null && text.length >= MIN_EDITED_LENGTH) kept.set(field, text);
          else kept.delete(field);
        }
        remember(id, kept);
        return;
      }
      remembered.delete(id);
      if ('ownerEpoch' in outcome) refused.push({ producerId: id, ownerEpoch: outcome.ownerEpoch });
      else mismatched.push(id);
    });
    if (refused.length > 0) throw fenced(refused, mine, 'save producer state');
    return mismatched;
  };

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
        const id = producerIds[i]!;
        if ('fields' in decoded) {
          out.set(id, decoded.fields);
          const kept = new Map<string, string>();
          for (const [field, text] of decoded.fields) if (text.length >= MIN_EDITED_LENGTH) kept.set(field, text);
          remember(id, kept);
        } else {
          remembered.delete(id);
          refused.push({ producerId: id, ownerEpoch: decoded.ownerEpoch });
        }
      });
      if (refused.length > 0) throw fenced(refused, mine, 'load producer state');
      return out;
    },

    async save(changes) {
      const mine = await epoch();
      const mismatched = await send(mine, changes, true);
      // Rare (the stored text is not what this instance last wrote): those producers again, whole.
      if (mismatched.length > 0) await send(mine, new Map(mismatched.map((id) => [id, changes.get(id)!])), false);
    },

    async close() {},
  };
}
