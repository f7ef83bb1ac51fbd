/**
 * Items waiting for something that may never come, each with the event time by which it should:
 * a domestic shipment waiting for its receipt (custody-gap). A rule opens an item and schedules a
 * timer at its due time; the matching event closes it; a timer that finds it still open is the
 * finding. Opening an id already open keeps the first (redelivery changes nothing).
 */
import { WholeCell } from './cell.ts';

export interface OpenItem<T> {
  dueAt: number;
  value: T;
}

export class OpenItems<T> extends WholeCell<[string, OpenItem<T>][]> {
  private readonly items = new Map<string, OpenItem<T>>();

  get(id: string): OpenItem<T> | undefined {
    return this.items.get(id);
  }

  /** Returns false when the id was already open. */
  open(id: string, item: OpenItem<T>): boolean {
    if (this.items.has(id)) return false;
    this.items.set(id, item);
    this.changed();
    return true;
  }

  /** Removes and returns the item, if open. */
  close(id: string): OpenItem<T> | undefined {
    const item = this.items.get(id);
    if (item === undefined) return undefined;
    this.items.delete(id);
    this.changed();
    return item;
  }

  get size(): number {
    return this.items.size;
  }

  protected toData(): [string, OpenItem<T>][] | null {
    return this.items.size === 0 ? null : [...this.items];
  }

  protected fromData(data: [string, OpenItem<T>][]): void {
    for (const [id, item] of data) this.items.set(id, item);
  }
}
