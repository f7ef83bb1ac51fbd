/**
 * A bounded history per key, oldest first: a producer's trailing exports of a material
 * (volume-spike's baseline), the shipments to one client in the last 7 days (split-shipments),
 * declared prices of a material (undervaluation), the gaps between a producer's reports
 * (reporting-gap's cadence). Bounded twice: at most `maxPerKey` entries, none older than `maxAgeMs`
 * behind the newest event time seen for the key; so memory stays flat however long history grows.
 *
 * Entries are kept in event-time order (ties by id), whatever order they arrived in, so a window
 * reads the same in a replay as live. An id already held is not added again (redelivery).
 *
 * Saved whole, then as a delta part (`<cell>#+`): the events added since the cell was written whole,
 * in the order added, until they number d with d² > 2n (n the events held; delta-parts.ts). Reading the delta adds them again to the
 * whole part's events, which gives back the very state they made (`add` depends only on the
 * events held and the one added). A producer's exports were ~2,400 characters written whole on every
 * save that added one.
 */
import { decodeState, encodeState, WholeCell } from './cell.ts';
import { DELTA_SUFFIX, WholeAndDelta, writesDelta } from './delta-parts.ts';
import { decodeId, encodeId, fitsCoding, roomyCoding, type IdCoding, type IdTail } from './id-lists.ts';

export interface RecentEvent<T> {
  id: string;
  at: number;
  value: T;
}

export interface RecentEventsLimits {
  maxPerKey: number;
  maxAgeMs: number;
}

/**
 * The stored form. Version 1 (still read) was `[key, {id, at, value}[]][]`: every entry spelled its
 * three names and every name of its value again, which was half of the text of a rule's exports.
 * Now each entry is `[id, at, value]`, and when every value is a flat object with the same fields
 * in the same order (a rule's usual event) the names are written once in `fields` and each value
 * as the list of its field values.
 */
interface StoredEvents {
  fields: string[] | null;
  keys: [string, [id: string, at: number, value: unknown][]][];
}
type StoredV1<T> = [string, RecentEvent<T>[]][];

/**
 * Version 3, written now: per key, the coding its ids share and each id's tail (id-lists.ts); each
 * event time as the step from the key's previous one (the first from 0) when every time is a
 * whole number; and for each field whose values are all text within the key, their coding and
 * each value's tail (null for other fields). So `["SHP-16-00002341", 1749208741255, [701,
 * "C-0022", ...]]` becomes `[2341, 370335524, [701, 22, ...]]`.
 */
interface StoredV3 {
  v: 3;
  fields: string[] | null;
  steps: boolean;
  keys: StoredKey[];
}
type StoredKey = [key: string, ids: IdCoding, fieldCodings: (IdCoding | null)[] | null, entries: [IdTail, number, unknown][]];
/** The delta part: each event added since the whole part, in the order added. */
type StoredDelta = [key: string, id: string, at: number, value: unknown][];

const wholeTime = (at: number): boolean => Number.isSafeInteger(at) && !Object.is(at, -0);

/** The codings of a key's ids and of its text fields (null for a field not all text), from its events. */
function keyCodings<T>(events: readonly RecentEvent<T>[], fields: string[] | null): Pick<KeyText, 'ids' | 'fieldCodings'> {
  const ids = roomyCoding(events.map((e) => e.id));
  const fieldCodings =
    fields?.map((f) => {
      const texts: string[] = [];
      for (const { value } of events) {
        const v = (value as Record<string, unknown>)[f];
        if (typeof v !== 'string') return null;
        texts.push(v);
      }
      return roomyCoding(texts);
    }) ?? null;
  return { ids, fieldCodings };
}

/** Whether an event can be written under a key's codings as they are. */
function fitsKey<T>({ ids, fieldCodings }: KeyText, fields: string[] | null, { id, value }: RecentEvent<T>): boolean {
  if (!fitsCoding(ids, id)) return false;
  if (!fields || !fieldCodings) return true;
  const record = value as Record<string, unknown>;
  for (let i = 0; i < fields.length; i += 1) {
    const coding = fieldCodings[i];
    if (!coding) continue;
    const v = record[fields[i]!];
    if (typeof v !== 'string' || !fitsCoding(coding, v)) return false;
  }
  return true;
}

/** One entry of a StoredKey as text: `[id tail, time or step, value]`. */
function entryText<T>({ ids, fieldCodings }: KeyText, fields: string[] | null, { id, at, value }: RecentEvent<T>, time: number): string {
  const record = value as Record<string, unknown>;
  const stored = fields ? fields.map((f, i) => (fieldCodings![i] ? encodeId(fieldCodings![i], record[f] as string) : record[f])) : value;
  return encodeState([encodeId(ids, id), time, stored]);
}

/** Whether a value has exactly these fields, in this order, each flat (see sharedFields). */
function hasFields(value: unknown, fields: string[]): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  let n = 0;
  for (const name in value) {
    if (name !== fields[n] || !isFlatValue((value as Record<string, unknown>)[name])) return false;
    n += 1;
  }
  return n === fields.length;
}

/**
 * A key as last written: its codings, each event's entry (undefined once stale: new, or its
 * previous event changed, as times are steps from it) and the key's whole text (undefined once any
 * entry is stale). A batch adds an event or two to a key of some twenty, so a save writes those
 * and joins the rest instead of coding the whole cell again (a tenth of a Redis replay's CPU).
 */
interface KeyText {
  ids: IdCoding;
  fieldCodings: (IdCoding | null)[] | null;
  entries: (string | undefined)[];
  text: string | undefined;
}

function decodeKey<T>([, ids, fieldCodings, entries]: StoredKey, fields: string[] | null, steps: boolean): RecentEvent<T>[] {
  let previous = 0;
  return entries.map(([idTail, time, stored]) => {
    const at = steps ? previous + time : time;
    previous = at;
    const values = stored as unknown[];
    const value = fields ? Object.fromEntries(fields.map((f, i) => [f, fieldCodings![i] ? decodeId(fieldCodings![i], values[i] as IdTail) : values[i]])) : stored;
    return { id: decodeId(ids, idTail), at, value: value as T };
  });
}

const isFlatValue = (v: unknown): boolean => v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';

/** The field names every value shares, in order, or null when they do not (then values are written as they are). */
function sharedFields(byKey: ReadonlyMap<string, readonly RecentEvent<unknown>[]>): string[] | null {
  let fields: string[] | null = null;
  for (const events of byKey.values()) {
    for (const { value } of events) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
      const names = Object.keys(value);
      if (fields === null) fields = names;
      else if (names.length !== fields.length || names.some((n, i) => n !== fields![i])) return null;
      // undefined, nested objects: kept exactly only as they are (JSON drops undefined fields).
      for (const n of names) if (!isFlatValue((value as Record<string, unknown>)[n])) return null;
    }
  }
  return fields;
}

const byTimeThenId = <T>(a: RecentEvent<T>, b: RecentEvent<T>): number => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class RecentEvents<T> extends WholeCell<StoredV3 | StoredEvents | StoredV1<T>> {
  private readonly byKey = new Map<string, RecentEvent<T>[]>();
  /** What the last whole write wrote, per key, and the layout (shared fields, steps) it wrote under; empty until a save. */
  private readonly written = new Map<string, KeyText>();
  private layout: { fields: string[] | null; steps: boolean } | undefined;
  /**
   * The events added since the whole part was written, as the delta part writes them; undefined
   * until the first save or restore, so a state that is never saved (an in-memory replay) keeps none.
   */
  private sinceWhole: string[] | undefined;
  private readonly parts = new WholeAndDelta();

  constructor(private readonly limits: RecentEventsLimits) {
    super();
  }

  /** The key's events, oldest first; `since` keeps only those at or after it. */
  list(key: string, since = -Infinity): readonly RecentEvent<T>[] {
    const events = this.byKey.get(key) ?? [];
    return since === -Infinity ? events : events.filter((e) => e.at >= since);
  }

  /** The keys that hold events. */
  keys(): IterableIterator<string> {
    return this.byKey.keys();
  }

  isEmpty(): boolean {
    return this.byKey.size === 0;
  }

  /** Forgets every event (the cell is then deleted from storage). */
  clear(): void {
    if (this.byKey.size === 0) return;
    this.byKey.clear();
    this.written.clear();
    this.layout = undefined;
    // Not tracked again until the next save, which writes the cell whole (or deletes it): a delta
    // would be read on top of the events the stored whole part still holds.
    this.sinceWhole = undefined;
    this.changed();
  }

  /** Adds an event unless its id is already held; returns whether it is held now (false for a repeat or one already out of the window). */
  add(key: string, event: RecentEvent<T>): boolean {
    const events = this.byKey.get(key) ?? [];
    if (events.some((e) => e.id === event.id)) return false;
    let i = events.length;
    while (i > 0 && byTimeThenId(events[i - 1]!, event) > 0) i--;
    events.splice(i, 0, event);
    const newest = events[events.length - 1]!.at;
    let drop = 0;
    while (drop < events.length && (events.length - drop > this.limits.maxPerKey || events[drop]!.at < newest - this.limits.maxAgeMs)) drop++;
    if (drop > 0) events.splice(0, drop);
    const kept = this.written.get(key);
    if (kept) {
      // The new entry, and the one after it (its step is now from the new one), are to be written.
      kept.entries.splice(i, 0, undefined);
      if (i + 1 < kept.entries.length) kept.entries[i + 1] = undefined;
      if (drop > 0) {
        kept.entries.splice(0, drop);
        if (kept.entries.length > 0) kept.entries[0] = undefined;
      }
      kept.text = undefined;
    }
    this.byKey.set(key, events);
    const held = events.includes(event);
    // An event dropped at once (older than the window, or past maxPerKey) changed nothing.
    if (held) this.sinceWhole?.push(encodeState([key, event.id, event.at, event.value]));
    this.changed();
    return held;
  }

  /** The delta alone while it is small beside the events held; else the whole cell, and the delta removed. */
  override drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    if (!this.takeChanged()) return out;
    const added = this.sinceWhole;
    if (added && this.parts.wholeStored) {
      let held = 0;
      for (const events of this.byKey.values()) held += events.length;
      if (writesDelta(held, added.length)) {
        this.parts.writeDelta(out, `[${added.join(',')}]`);
        return out;
      }
    }
    this.parts.writeWhole(out, this.toText());
    this.sinceWhole = [];
    return out;
  }

  override restorePart(part: string, text: string): void {
    this.sinceWhole ??= [];
    if (part !== DELTA_SUFFIX) {
      super.restorePart(part, text);
      this.parts.wholeStored = true;
      return;
    }
    // After the whole part (producer-state.ts): the same adds on the same events.
    for (const [key, id, at, value] of decodeState<StoredDelta>(text)) this.add(key, { id, at, value: value as T });
    this.parts.deltaStored = true;
    // Restored, not changed: nothing to write until the next add.
    this.takeChanged();
  }

  protected toData(): StoredV3 | null {
    const text = this.toText();
    return text === null ? null : decodeState<StoredV3>(text);
  }

  /** StoredV3 as text, from the entries kept since the last save where neither they nor the layout changed. */
  protected override toText(): string | null {
    if (this.byKey.size === 0) {
      this.written.clear();
      this.layout = undefined;
      return null;
    }
    if (this.layout && !this.layoutHolds()) this.layout = undefined;
    if (!this.layout) {
      let steps = true;
      for (const events of this.byKey.values()) for (const { at } of events) if (!wholeTime(at)) steps = false;
      this.layout = { fields: sharedFields(this.byKey), steps };
      this.written.clear();
    }
    const { fields, steps } = this.layout;
    const keys: string[] = [];
    for (const [key, events] of this.byKey) {
      let kept = this.written.get(key);
      if (kept && kept.text === undefined && events.some((e, i) => kept!.entries[i] === undefined && !fitsKey(kept!, fields, e))) kept = undefined;
      if (!kept) this.written.set(key, (kept = { ...keyCodings(events, fields), entries: new Array<undefined>(events.length), text: undefined }));
      if (kept.text === undefined) {
        let previous = 0;
        for (let i = 0; i < events.length; i += 1) {
          const at = events[i]!.at;
          kept.entries[i] ??= entryText(kept, fields, events[i]!, steps ? at - previous : at);
          previous = at;
        }
        kept.text = `[${JSON.stringify(key)},${JSON.stringify(kept.ids)},${JSON.stringify(kept.fieldCodings)},[${kept.entries.join(',')}]]`;
      }
      keys.push(kept.text);
    }
    for (const key of this.written.keys()) if (!this.byKey.has(key)) this.written.delete(key);
    return `{"v":3,"fields":${JSON.stringify(fields)},"steps":${steps},"keys":[${keys.join(',')}]}`;
  }

  /** Whether the events not yet written still fit the layout of the last save. */
  private layoutHolds(): boolean {
    const { fields, steps } = this.layout!;
    for (const [key, events] of this.byKey) {
      const kept = this.written.get(key);
      if (kept && kept.text !== undefined) continue;
      for (let i = 0; i < events.length; i += 1) {
        if (kept && kept.entries[i] !== undefined) continue;
        const { at, value } = events[i]!;
        if (steps && !wholeTime(at)) return false;
        if (fields && !hasFields(value, fields)) return false;
      }
    }
    return true;
  }

  protected fromData(data: StoredV3 | StoredEvents | StoredV1<T>): void {
    if (Array.isArray(data)) {
      for (const [key, events] of data) this.byKey.set(key, events);
      return;
    }
    if ('v' in data) {
      for (const stored of data.keys) this.byKey.set(stored[0], decodeKey<T>(stored, data.fields, data.steps));
      return;
    }
    const { fields } = data;
    for (const [key, entries] of data.keys) {
      this.byKey.set(
        key,
        entries.map(([id, at, stored]) => ({ id, at, value: (fields ? Object.fromEntries(fields.map((f, i) => [f, (stored as unknown[])[i]])) : stored) as T })),
      );
    }
  }
}
