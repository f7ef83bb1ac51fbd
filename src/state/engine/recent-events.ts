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

const byTimeThenId = <T>(a: RecentEvent<T>, b: RecentEvent<T>): number => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export class RecentEvents<T> extends WholeCell<[string, RecentEvent<T>[]][]> {
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

  protected toData(): [string, RecentEvent<T>[]][] | null {
    return this.byKey.size === 0 ? null : [...this.byKey];
  }

  protected fromData(data: [string, RecentEvent<T>[]][]): void {
    for (const [key, events] of data) this.byKey.set(key, events);
  }
}
