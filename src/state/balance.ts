/**
 * Book-balance arithmetic over daily buckets, shared by the in-memory store and mirrored by the
 * Redis Lua scripts (`lua/includes/balance.lua`). Kept pure so the two cannot drift unnoticed:
 * the contract suite runs the same scenarios through both.
 */
import type { FiredCheck, FlowKind, FlowTotals } from './store.ts';

export const emptyTotals = (): FlowTotals => ({ produced: 0, received: 0, consumed: 0, shipped: 0, exported: 0 });

export interface MaterialBook {
  /** day → totals of that day's flows */
  days: Map<number, FlowTotals>;
  /** day → declared stock at the end of that day */
  declarations: Map<number, { kg: number; reportId: string }>;
  /** day → reportIds of that day's outflows (capped) */
  outflowIds: Map<number, string[]>;
}

export const emptyBook = (): MaterialBook => ({ days: new Map(), declarations: new Map(), outflowIds: new Map() });

/** Rounds to grams so float noise never decides a finding and both stores agree to the digit. */
export const roundKg = (kg: number): number => Math.round(kg * 1000) / 1000;

export function addFlow(book: MaterialBook, day: number, kind: FlowKind, kg: number): void {
  let totals = book.days.get(day);
  if (!totals) {
    totals = emptyTotals();
    book.days.set(day, totals);
  }
  totals[kind] = roundKg(totals[kind] + kg);
}

/**
 * The book at the end of `day`, starting from the latest declaration strictly before it.
 * A declaration on `day` itself is what a stock check compares against, so it is not the opening.
 */
export function bookAt(book: MaterialBook, day: number): Pick<FiredCheck, 'opening' | 'totals' | 'bookKg'> {
  let openingDay: number | null = null;
  for (const d of book.declarations.keys()) {
    if (d < day && (openingDay === null || d > openingDay)) openingDay = d;
  }
  const totals = emptyTotals();
  for (const [d, t] of book.days) {
    if (d > day || (openingDay !== null && d <= openingDay)) continue;
    for (const k of Object.keys(totals) as FlowKind[]) totals[k] = roundKg(totals[k] + t[k]);
  }
  const openingKg = openingDay === null ? 0 : book.declarations.get(openingDay)!.kg;
  const bookKg = roundKg(openingKg + totals.produced + totals.received - totals.consumed - totals.shipped);
  return {
    opening: openingDay === null ? null : { day: openingDay, kg: openingKg },
    totals,
    bookKg,
  };
}
