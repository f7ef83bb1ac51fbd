/**
 * A bounded history per key, oldest first: a producer's trailing exports of a material
 * (volume-spike's baseline), the shipments to one client in the last 7 days (split-shipments),
 * declared prices of a material (undervaluation), the gaps between a producer's reports
 * (reporting-gap's cadence). Bounded twice: at most `maxPerKey` entries, none older than `maxAgeMs`
 * behind the newest event time seen for the key; so memory stays flat however long history grows.
 *
 * Entries are kept in event-time order (ties by id), whatever order they arrived in, so a window
 * reads the same in a replay as live. An id already held is not added again (redelivery).
 */
import { WholeCell } from './cell.ts';

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

export class RecentEvents<T> extends WholeCell<StoredEvents | StoredV1<T>> {
  private readonly byKey = new Map<string, RecentEvent<T>[]>();

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
    this.byKey.set(key, events);
    this.changed();
    return events.includes(event);
  }

  protected toData(): StoredEvents | null {
    if (this.byKey.size === 0) return null;
    const fields = sharedFields(this.byKey);
    const keys: StoredEvents['keys'] = [];
    for (const [key, events] of this.byKey) {
      keys.push([key, events.map(({ id, at, value }) => [id, at, fields ? fields.map((f) => (value as Record<string, unknown>)[f]) : value])]);
    }
    return { fields, keys };
  }

  protected fromData(data: StoredEvents | StoredV1<T>): void {
    if (Array.isArray(data)) {
      for (const [key, events] of data) this.byKey.set(key, events);
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
