/**
 * Running totals per key: kg exported under each licence, production per quota and year.
 * Rounded to grams after each addition, as the balance book is, so a total never depends on
 * float noise and reads back from Redis as the same number.
 */
import { roundKg } from '../balance.ts';
import { WholeCell } from './cell.ts';

export class Counters extends WholeCell<[string, number][]> {
  private readonly totals = new Map<string, number>();

  get(key: string): number {
    return this.totals.get(key) ?? 0;
  }

  /** Adds `amount` and returns the total before and after. */
  add(key: string, amount: number): { before: number; after: number } {
    const before = this.get(key);
    const after = roundKg(before + amount);
    this.totals.set(key, after);
    this.changed();
    return { before, after };
  }

  delete(key: string): void {
    if (this.totals.delete(key)) this.changed();
  }

  protected toData(): [string, number][] | null {
    return this.totals.size === 0 ? null : [...this.totals];
  }

  protected fromData(data: [string, number][]): void {
    for (const [key, total] of data) this.totals.set(key, total);
  }
}
