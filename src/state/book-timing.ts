/**
 * When the balance book's results and checks come due: how long a result is kept for
 * redeliveries, and the order of checks due at the same instant. Used by engine/balance-book.ts.
 */
import { SEEN_TTL_SECONDS, type FiredCheck } from './store.ts';

/** A balance check waiting for its grace period to pass on the producer's clock. */
export interface PendingCheck {
  kind: FiredCheck['kind'];
  material: string;
  day: number;
  dueAt: number;
}

/**
 * How long a result is kept for redeliveries: 14 days, on the producer's clock rather than the wall
 * clock, since a replay goes through months in minutes. The trade-off: a report redelivered after
 * its producer's clock has moved on by more than this is applied again. Kafka redelivers from the
 * last committed offset, close behind the first delivery, so only a report resent by hand that late
 * would count twice.
 */
export const SEEN_WINDOW_MS = SEEN_TTL_SECONDS * 1000;

/** The tie order of checks due at the same instant: kind, material, then day, so it is stable. */
export function compareCheckTies(a: Omit<PendingCheck, 'dueAt'>, b: Omit<PendingCheck, 'dueAt'>): number {
  if (a.kind !== b.kind) return a.kind < b.kind ? -1 : 1;
  if (a.material !== b.material) return a.material < b.material ? -1 : 1;
  return a.day - b.day;
}
