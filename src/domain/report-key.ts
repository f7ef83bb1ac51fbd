/**
 * The report topics are keyed by producerId (DESIGN.md, "Topics"): that is what puts a producer's
 * reports on every topic in one partition index, owned by one instance with that producer's state.
 * A report under another producer's key lands in another index: applied there, two instances would
 * keep state for the same producer, each fencing only its own. Such a record is refused, live and
 * in a replay alike (a recording keeps the key), as a licence under another licence's key is. A
 * record without a key is let through, as before: a recording made by hand carries none.
 */
import { InvalidRecordError } from '../errors.ts';
import type { Report } from './events.ts';

export function reportKeyError(key: string | null | undefined, report: Report): InvalidRecordError | undefined {
  if (key === null || key === undefined || key === report.event.producerId) return undefined;
  return new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the report's producerId "${report.event.producerId}": report topics are keyed by producerId`);
}
