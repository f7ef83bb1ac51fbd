/**
 * What a report's Kafka record says about it, beyond its value: its key; and when it was read,
 * which a report cannot postdate. Checked live (decodeReportBatch) and in a replay alike.
 *
 * Key. The report topics are keyed by producerId (DESIGN.md, "Topics"): that is what puts a
 * producer's reports on every topic in one partition index, owned by one instance with that
 * producer's state. A report under another producer's key lands in another index: applied there,
 * two instances would keep state for the same producer, each fencing only its own. Such a record is
 * refused, as a licence under another licence's key is. So, live, is a record without a key: the
 * producer's partitioner spreads keyless records over every partition, so its reports would be
 * split between instances just the same. A replay refuses a keyless line that was recorded from
 * Kafka (it has a partition and offset: live refused it too) and lets a hand-made one through: one
 * process holds every producer's state there.
 *
 * Time. A report describes the past: it cannot have been reported after it was read. One that says
 * so (a mistyped year: reportedAt 2099) would move its producer's clock decades on; the state then
 * forgets the reports it holds (a redelivered one counts twice) and fires every pending balance
 * check at once. So a report whose reportedAt is later, by more than the day of clock skew allowed
 * between reportedAt and occurredAt, than the moment it is read is refused. Live that moment is the
 * wall clock; the record's timestamp plays no part (DESIGN.md: whatever producers set, a loader
 * stamping occurredAt included). A replay reads a recording after the fact, so it takes the later
 * of its own start and the line's timestamp: a recorded report is judged as it was live or more
 * leniently, never refused where live took it, and a simulation dated in the future (its lines
 * stamped with reportedAt) replays whole.
 */
import { InvalidRecordError } from '../errors.ts';
import { MAX_CLOCK_SKEW_MS, type Report } from './events.ts';
import { iso } from './time.ts';

export function reportKeyError(key: string | null | undefined, report: Report, keyRequired: boolean): InvalidRecordError | undefined {
  if (key === report.event.producerId) return undefined;
  if (key === null || key === undefined) {
    if (!keyRequired) return undefined;
    return new InvalidRecordError('REE_ERR_VALIDATION', `record has no key: report topics are keyed by producerId, so send it under the key "${report.event.producerId}"`);
  }
  return new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the report's producerId "${report.event.producerId}": report topics are keyed by producerId`);
}

export function reportedAfterReadError(readAt: number, report: Report): InvalidRecordError | undefined {
  const { reportedAt } = report.event;
  if (reportedAt <= readAt + MAX_CLOCK_SKEW_MS) return undefined;
  return new InvalidRecordError(
    'REE_ERR_VALIDATION',
    `reportedAt: later than the moment it was read by more than a day of clock skew (${iso(reportedAt)} > ${iso(readAt)}): a report describes the past`,
  );
}

/**
 * The first thing the record's key or the moment it was read says is wrong with the report, if
 * any. `keyRequired` live and for a line recorded from Kafka, where a keyless record lands on any
 * partition.
 */
export function recordEnvelopeError(record: { key: string | null | undefined; readAt: number; keyRequired: boolean }, report: Report): InvalidRecordError | undefined {
  return reportKeyError(record.key, report, record.keyRequired) ?? reportedAfterReadError(record.readAt, report);
}
