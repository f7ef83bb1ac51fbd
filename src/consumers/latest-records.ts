/**
 * What a batch of a compacted reference topic (keyed by the record's own id) leaves each id as: its
 * last record in the batch, or null for a tombstone. A record that fails to decode, a tombstone with
 * no key, or a record whose key is not its id goes to the dead-letter topic with the reason.
 */
import type { Batch } from 'kafkajs';
import type { DecodeOutcome } from '../codec/decode.ts';
import { InvalidRecordError } from '../errors.ts';
import type { DeadLetter } from '../producers/dead-letter-sink.ts';

export interface LatestRecords<T> {
  /** id → the last record of it in the batch (null: deleted). */
  latest: Map<string, T | null>;
  dead: DeadLetter[];
}

/** `idField` names the id in messages ("entryId", "quotaId"); `idOf` reads it from a record. */
export function latestRecords<T>(batch: Pick<Batch, 'topic' | 'partition' | 'messages'>, decoded: readonly DecodeOutcome<T | null>[], idField: string, idOf: (record: T) => string): LatestRecords<T> {
  const dead: DeadLetter[] = [];
  const latest = new Map<string, T | null>();
  batch.messages.forEach((m, i) => {
    const outcome = decoded[i]!;
    const key = m.key?.toString('utf8');
    const deadLetter = (error: InvalidRecordError) =>
      dead.push({ key: m.key, value: m.value, headers: m.headers, error, topic: batch.topic, partition: batch.partition, offset: m.offset });
    if (!outcome.ok) deadLetter(outcome.error);
    else if (outcome.value === null) {
      if (key) latest.set(key, null);
      else deadLetter(new InvalidRecordError('REE_ERR_VALIDATION', `key: a tombstone needs the ${idField} it deletes as its key`));
    } else if (key && key !== idOf(outcome.value)) {
      deadLetter(new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the ${idField} "${idOf(outcome.value)}"`));
    } else latest.set(idOf(outcome.value), outcome.value);
  });
  return { latest, dead };
}
