/**
 * What a report's Kafka record says about it, beyond its value: its key and its timestamp. Checked
 * live (decodeReportBatch) and in a replay alike, from what the recording keeps of the record.
 *
 * Key. The report topics are keyed by producerId (DESIGN.md, "Topics"): that is what puts a
 * producer's reports on every topic in one partition index, owned by one instance with that
 * producer's state. A report under another producer's key lands in another index: applied there,
 * two instances would keep state for the same producer, each fencing only its own. Such a record is
 * refused, as a licence under another licence's key is. So, live, is a record without a key: the
 * producer's partitioner spreads keyless records over every partition, so its reports would be split
 * between instances just the same. A replay lets one through (a recording made by hand carries no
 * key): one process holds every producer's state there.
 *
 * Timestamp. A report describes the past: it cannot have been reported after its record was sent.
 * One that says so (a mistyped year: reportedAt 2099) would move its producer's clock decades on;
 * the state then forgets the reports it holds (a redelivered one counts twice) and fires every
 * pending balance check at once. The record's timestamp is the sending client's clock (Kafka's
 * CreateTime, now by default; the broker refuses one far in the future), so reportedAt may exceed it
 * by the day of clock skew allowed between reportedAt and occurredAt, no more. A record without a
 * timestamp (a hand-made recording: 0) is not judged.
 */
import { InvalidRecordError } from '../errors.ts';
import { MAX_CLOCK_SKEW_MS, type Report } from './events.ts';
import { iso } from './time.ts';

export function reportKeyError(key: string | null | undefined, report: Report, keyRequired = false): InvalidRecordError | undefined {
  if (key === report.event.producerId) return undefined;
  if (key === null || key === undefined) {
    if (!keyRequired) return undefined;
    return new InvalidRecordError('REE_ERR_VALIDATION', `record has no key: report topics are keyed by producerId, so send it under the key "${report.event.producerId}"`);
  }
  return new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the report's producerId "${report.event.producerId}": report topics are keyed by producerId`);
}

export function reportedAfterSentError(recordTimestamp: number, report: Report): InvalidRecordError | undefined {
  const { reportedAt } = report.event;
  if (!(recordTimestamp > 0) || reportedAt <= recordTimestamp + MAX_CLOCK_SKEW_MS) return undefined;
  return new InvalidRecordError(
    'REE_ERR_VALIDATION',
    `reportedAt: after the record was sent by more than a day of clock skew (${iso(reportedAt)} > ${iso(recordTimestamp)}): a report describes the past`,
  );
}

/**
 * The first thing the record's key or timestamp says is wrong with the report, if any. `keyRequired`
 * live, where a keyless record lands on any partition; not in a replay.
 */
export function recordEnvelopeError(record: { key: string | null | undefined; timestamp: number }, report: Report, keyRequired = false): InvalidRecordError | undefined {
  return reportKeyError(record.key, report, keyRequired) ?? reportedAfterSentError(record.timestamp, report);
}
