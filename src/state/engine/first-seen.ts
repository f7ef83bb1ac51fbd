/**
 * The earliest event per key, by event time (ties by id): a producer's first export to each
 * client (volume-spike's "client never seen before"). Whatever order the events arrive in, the
 * cell ends up holding the same first one.
 */
import { WholeCell } from './cell.ts';

export interface Sighting {
  id: string;
  at: number;
}

export class FirstSeen extends WholeCell<[string, Sighting][]> {
  private readonly first = new Map<string, Sighting>();

  get(key: string): Sighting | undefined {
    return this.first.get(key);
  }

  /** Keeps `s` if it is earlier than what the key holds; returns the first sighting after. */
  see(key: string, s: Sighting): Sighting {
    const held = this.first.get(key);
    if (held !== undefined && (held.at < s.at || (held.at === s.at && held.id <= s.id))) return held;
    this.first.set(key, { id: s.id, at: s.at });
    this.changed();
    return s;
  }

  protected toData(): [string, Sighting][] | null {
    return this.first.size === 0 ? null : [...this.first];
  }

  protected fromData(data: [string, Sighting][]): void {
    for (const [key, s] of data) this.first.set(key, s);
  }
}
