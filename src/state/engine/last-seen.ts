/**
 * The latest event time per key: a producer's clock, when a client was last shipped to, a
 * producer's last report (reporting-gap). Only ever moves forward, so a late or redelivered
 * report cannot pull it back.
 */
import { WholeCell } from './cell.ts';

export class LastSeen extends WholeCell<[string, number][]> {
  private readonly times = new Map<string, number>();

  get(key: string): number | undefined {
    return this.times.get(key);
  }

  /** Moves the key's time to `at` if that is later; returns the time after. */
  advance(key: string, at: number): number {
    const current = this.times.get(key);
    if (current !== undefined && current >= at) return current;
    this.times.set(key, at);
    this.changed();
    return at;
  }

  keys(): IterableIterator<string> {
    return this.times.keys();
  }

  protected toData(): [string, number][] | null {
    return this.times.size === 0 ? null : [...this.times];
  }

  protected fromData(data: [string, number][]): void {
    for (const [key, at] of data) this.times.set(key, at);
  }
}
