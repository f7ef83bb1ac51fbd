/**
 * A list of items per key, saved whole, with the items older than a time dropped: what a rule
 * keeps while later reports can still change it (split-shipments' published groups and window
 * chains, per group key). Items are stored as they are, in the order given; a key whose list
 * empties is removed, and the cell with no key left is deleted from storage.
 *
 * Stored as `[[key, [item, ...]], ...]` in the order keys were first set.
 */
import { WholeCell } from './cell.ts';

export class KeyedLists<T> extends WholeCell<[string, T[]][]> {
  private readonly byKey = new Map<string, T[]>();

  get(key: string): T[] | undefined {
    return this.byKey.get(key);
  }

  set(key: string, items: T[]): void {
    this.byKey.set(key, items);
    this.changed();
  }

  /** Drops the items whose time (by `timeOf`) is before `at`, and the keys left with none. */
  dropBefore(at: number, timeOf: (item: T) => number): void {
    for (const [key, items] of this.byKey) {
      const kept = items.filter((item) => timeOf(item) >= at);
      if (kept.length === items.length) continue;
      if (kept.length === 0) this.byKey.delete(key);
      else this.byKey.set(key, kept);
      this.changed();
    }
  }

  protected toData(): [string, T[]][] | null {
    return this.byKey.size === 0 ? null : [...this.byKey];
  }

  protected fromData(data: [string, T[]][]): void {
    for (const [key, items] of data) this.byKey.set(key, items);
  }
}
