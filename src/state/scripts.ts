/**
 * Owns the store's Lua scripts: loading the `.lua` files, expanding their includes, registering
 * them with ioredis under versioned names, and building every KEYS/ARGV array. Nothing else calls
 * a script, so a script's header and the code that feeds it are checked against each other here.
 *
 * ioredis's defineCommand sends the full script (EVAL, which also caches it) the first time on each
 * connection, so on each Cluster node, and EVALSHA after. After a NOSCRIPT (SCRIPT FLUSH on a live
 * connection) it resends the failed commands one by one in reply order, so a batch stays in order
 * unless another client reloads the script on that node in the middle of the very same pipeline.
 */
import { readFileSync } from 'node:fs';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import { ReeError } from '../errors.ts';
import type { KeyBuilder } from './keys.ts';
import type { QueuedCommand } from './redis-pipelines.ts';
import type { ClientSighting } from './store.ts';

export interface ScriptDefinition {
  /**
   * The command name ioredis registers. The version is bumped whenever the script's text or the
   * data layout it reads changes, so two deployed versions never share a name.
   */
  name: string;
  file: string;
  numberOfKeys: number;
}

export const SCRIPTS = {
  recordClients: { name: 'ree_recordClients_v2', file: 'recordClients-1.lua', numberOfKeys: 1 },
  loadProducer: { name: 'ree_loadProducer_v1', file: 'loadProducer-2.lua', numberOfKeys: 2 },
  saveProducer: { name: 'ree_saveProducer_v1', file: 'saveProducer-2.lua', numberOfKeys: 2 },
  recordCustodySide: { name: 'ree_recordCustodySide_v1', file: 'recordCustodySide-1.lua', numberOfKeys: 1 },
  advanceWatermark: { name: 'ree_advanceWatermark_v1', file: 'advanceWatermark-1.lua', numberOfKeys: 1 },
  setTimerIndex: { name: 'ree_setTimerIndex_v1', file: 'setTimerIndex-2.lua', numberOfKeys: 2 },
  claimAlert: { name: 'ree_claimAlert_v2', file: 'claimAlert-2.lua', numberOfKeys: 2 },
  releaseClaim: { name: 'ree_releaseClaim_v1', file: 'releaseClaim-1.lua', numberOfKeys: 1 },
} as const satisfies Record<string, ScriptDefinition>;

const LUA_DIR = new URL('./lua/', import.meta.url);
const INCLUDE_DIRECTIVE = '--@include';
const INCLUDE_LINE = /^--@include "([A-Za-z0-9_-]+)"\s*$/;

/**
 * Replaces each `--@include "name"` line with the text of include `name`, recursively. An include
 * already pasted earlier is not pasted again (its locals are in scope from the first copy), so an
 * include may name what it needs without the script knowing. Cycles and typos are errors.
 */
export function expandIncludes(source: string, readInclude: (name: string) => string, origin = 'script'): string {
  const included = new Set<string>();
  const expand = (text: string, from: string, chain: readonly string[]): string =>
    text
      .split('\n')
      .map((line, index) => {
        if (!line.startsWith(INCLUDE_DIRECTIVE)) return line;
        const where = `${from}:${index + 1}`;
        const name = INCLUDE_LINE.exec(line)?.[1];
        if (name === undefined) throw new Error(`${where}: malformed include ${JSON.stringify(line)}; write --@include "name"`);
        if (chain.includes(name)) throw new Error(`${where}: include cycle ${[...chain, name].join(' -> ')}`);
        if (included.has(name)) return `-- include "${name}" is above`;
        included.add(name);
        let body: string;
        try {
          body = readInclude(name);
        } catch (err) {
          throw new Error(`${where}: cannot read include "${name}": ${err instanceof Error ? err.message : String(err)}`);
        }
        return `-- include "${name}" {\n${expand(body, name, [...chain, name]).trimEnd()}\n-- } include "${name}"`;
      })
      .join('\n');
  return expand(source, origin, [origin]);
}

const loaded = new Map<string, string>();

/** The script's full text with includes expanded, read once per process. */
export function loadScript(definition: ScriptDefinition): string {
  if (!definition.file.endsWith(`-${definition.numberOfKeys}.lua`)) {
    throw new Error(`script ${definition.file} is registered with ${definition.numberOfKeys} keys but named for another count`);
  }
  let text = loaded.get(definition.file);
  if (text === undefined) {
    const read = (path: string) => readFileSync(new URL(path, LUA_DIR), 'utf8');
    text = expandIncludes(read(definition.file), (name) => read(`includes/${name}.lua`), definition.file);
    loaded.set(definition.file, text);
  }
  return text;
}

type ScriptCall = (...args: (string | number)[]) => unknown;

function invoke(target: ChainableCommander, definition: ScriptDefinition, keys: string[], argv: (string | number)[]): void {
  if (keys.length !== definition.numberOfKeys) throw new Error(`${definition.name} takes ${definition.numberOfKeys} keys, got ${keys.length}`);
  const call = (target as unknown as Record<string, ScriptCall | undefined>)[definition.name];
  if (typeof call !== 'function') throw new Error(`script ${definition.name} is not registered on this connection`);
  call.call(target, ...keys, ...argv);
}

export class StateScripts {
  constructor(
    redis: Redis | Cluster,
    private readonly keys: KeyBuilder,
  ) {
    for (const definition of Object.values(SCRIPTS)) {
      redis.defineCommand(definition.name, { numberOfKeys: definition.numberOfKeys, lua: loadScript(definition) });
    }
  }

  /** Claims a producer for `epoch` and reads its engine state (loadProducer-2.lua). */
  loadProducer(producerId: string, epoch: number): QueuedCommand {
    const keys = [this.keys.producer(producerId, 'state'), this.keys.producer(producerId, 'epoch')];
    return { key: keys[0]!, queue: (pipeline) => invoke(pipeline, SCRIPTS.loadProducer, keys, [String(epoch)]) };
  }

  /** Records one side of a transfer (redis-custody-ledger.ts); the reply is the transfer's hash, flat. */
  recordCustodySide(key: string, side: string, json: string, ttlSeconds: number): QueuedCommand {
    return { key, queue: (pipeline) => invoke(pipeline, SCRIPTS.recordCustodySide, [key], [side, json, String(ttlSeconds)]) };
  }

  /** Claims an alert at a revision for a path, storing `holder` (claimAlert-2.lua); the reply is a ClaimOutcome. */
  claimAlert(alertId: string, revision: number, path: string, holder: string, leaseMs: number): QueuedCommand {
    const keys = [this.keys.alertClaim(alertId, revision), this.keys.publishedAlert(alertId)];
    return { key: keys[0]!, queue: (pipeline) => invoke(pipeline, SCRIPTS.claimAlert, keys, [path, holder, String(revision), String(leaseMs)]) };
  }

  /** Drops a claim: anyone's when `holder` is empty, else only that holder's (releaseClaim-1.lua). */
  releaseClaim(alertId: string, revision: number, holder: string): QueuedCommand {
    const key = this.keys.alertClaim(alertId, revision);
    return { key, queue: (pipeline) => invoke(pipeline, SCRIPTS.releaseClaim, [key], [holder]) };
  }

  /** The stored fields, or the newer owner's epoch when the claim was refused. */
  decodeLoadProducer(reply: unknown): { fields: Map<string, string> } | { ownerEpoch: number } {
    if (Array.isArray(reply) && reply[0] === 1 && Array.isArray(reply[1])) {
      const flat = reply[1] as string[];
      const fields = new Map<string, string>();
      for (let i = 0; i + 1 < flat.length; i += 2) fields.set(flat[i]!, flat[i + 1]!);
      return { fields };
    }
    if (Array.isArray(reply) && reply[0] === 0) return { ownerEpoch: Number(reply[1]) };
    throw new ReeError('REE_ERR_STATE', `${SCRIPTS.loadProducer.name} returned an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }

  /** Writes a producer's changed fields if `epoch` still owns it (saveProducer-2.lua). */
  saveProducer(producerId: string, epoch: number, changes: ReadonlyMap<string, string | null>): QueuedCommand {
    const keys = [this.keys.producer(producerId, 'state'), this.keys.producer(producerId, 'epoch')];
    const set: string[] = [];
    const deleted: string[] = [];
    for (const [field, text] of changes) {
      if (text === null) deleted.push(field);
      else set.push(field, text);
    }
    const argv = [String(epoch), String(set.length / 2), ...set, ...deleted];
    return { key: keys[0]!, queue: (pipeline) => invoke(pipeline, SCRIPTS.saveProducer, keys, argv) };
  }

  /** null when written, else the newer owner's epoch. */
  decodeSaveProducer(reply: unknown): number | null {
    if (Array.isArray(reply) && reply[0] === 1) return null;
    if (Array.isArray(reply) && reply[0] === 0) return Number(reply[1]);
    throw new ReeError('REE_ERR_STATE', `${SCRIPTS.saveProducer.name} returned an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
  }

  /** Raises the latest occurredAt of each source and reads the shared watermark back (advanceWatermark-1.lua). */
  advanceWatermark(allowedLatenessMs: number, latest: ReadonlyMap<string, number>): QueuedCommand {
    const key = this.keys.watermark();
    const argv = [String(allowedLatenessMs), ...[...latest].flatMap(([source, time]) => [source, String(time)])];
    return { key, queue: (pipeline) => invoke(pipeline, SCRIPTS.advanceWatermark, [key], argv) };
  }

  /** The watermark, or -Infinity while no partition has data. */
  decodeAdvanceWatermark(reply: unknown): number {
    if (reply === '') return -Infinity;
    const n = Number(reply);
    if (typeof reply !== 'string' || !Number.isFinite(n)) throw new ReeError('REE_ERR_STATE', `${SCRIPTS.advanceWatermark.name} returned an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
    return n;
  }

  /** Sets one partition's timer index entries (score '' removes) unless a newer epoch has set them (setTimerIndex-2.lua). */
  setTimerIndex(partition: number, epoch: number, entries: readonly (readonly [producerId: string, score: string])[]): QueuedCommand {
    const keys = [this.keys.timerIndex(partition), this.keys.timerEpochs(partition)];
    const argv = [String(epoch), ...entries.flat()];
    return { key: keys[0]!, queue: (pipeline) => invoke(pipeline, SCRIPTS.setTimerIndex, keys, argv) };
  }

  /** Keeps the first sighting per producer, client id and name, all in one call (recordClients-1.lua). */
  recordClients(sightings: ClientSighting[]): QueuedCommand {
    const key = this.keys.clients();
    const argv: string[] = [];
    for (const s of sightings) argv.push(`${s.producerId}\u0000${s.clientId}\u0000${s.clientName}`, String(s.occurredAt), s.reportId, JSON.stringify(s));
    return { key, queue: (pipeline) => invoke(pipeline, SCRIPTS.recordClients, [key], argv) };
  }

  /** The kept sightings out of recordClients' reply, one per sighting sent. */
  decodeRecordClients(reply: unknown): ClientSighting[] {
    if (!Array.isArray(reply)) throw new ReeError('REE_ERR_STATE', `${SCRIPTS.recordClients.name} returned an unexpected reply: ${JSON.stringify(reply)?.slice(0, 200)}`);
    return reply.map((text) => JSON.parse(String(text)) as ClientSighting);
  }
}
