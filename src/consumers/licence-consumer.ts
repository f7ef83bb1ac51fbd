/**
 * Reads the compacted licences topic into the shared state store, so every detector instance
 * sees every licence whichever partitions it owns. Each record is a version of its licence, kept
 * beside the others (see licence-versions.ts); a tombstone deletes the licence. The report consumer
 * starts only once this one has caught up with what the topic held at start, or early exports
 * would be judged against a half-loaded licence register.
 */
import type { Decoder } from '../codec/decode.ts';
import type { Licence } from '../domain/events.ts';
import { effectiveTimeOf } from '../domain/licence-versions.ts';
import { InvalidRecordError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import { logDeadLetters, type DeadLetter, type DeadLetterSink } from '../producers/dead-letter-sink.ts';
import type { StateStore } from '../state/store.ts';
import { createCompactedTopicConsumer, type CompactedTopicConsumer, type CompactedTopicConsumerDeps } from './compacted-topic-consumer.ts';

export interface LicenceConsumerDeps extends CompactedTopicConsumerDeps {
  decoder: Decoder;
  store: StateStore;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
}

interface LicenceChange {
  /** A tombstone came: every version stored so far goes. */
  wipe: boolean;
  /** Effective time → the last record of that version in the batch. */
  versions: Map<number, Licence>;
}

export type LicenceConsumer = CompactedTopicConsumer;

export function createLicenceConsumer(deps: LicenceConsumerDeps): LicenceConsumer {
  return createCompactedTopicConsumer(deps, 'licence', async (batch) => {
    const dead: DeadLetter[] = [];
    const decoded = await deps.decoder.decodeBatch(
      batch.messages.map((m) => m.value),
      (value) => deps.decoder.decodeLicence(value),
    );
    /** licenceId → what the batch does to it: a tombstone wipes it first, then versions are kept. */
    const changes = new Map<string, LicenceChange>();
    const changeOf = (licenceId: string): LicenceChange => {
      let change = changes.get(licenceId);
      if (!change) {
        change = { wipe: false, versions: new Map() };
        changes.set(licenceId, change);
      }
      return change;
    };
    const deadLetter = (m: (typeof batch.messages)[number], error: InvalidRecordError) =>
      dead.push({ key: m.key, value: m.value, headers: m.headers, error, topic: batch.topic, partition: batch.partition, offset: m.offset });
    batch.messages.forEach((m, i) => {
      const outcome = decoded[i]!;
      const key = m.key?.toString('utf8');
      if (!outcome.ok) {
        deadLetter(m, outcome.error);
        return;
      }
      const licence = outcome.value;
      if (licence === null) {
        if (key) changes.set(key, { wipe: true, versions: new Map() });
      } else if (key && key !== licence.licenceId) {
        deadLetter(m, new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the licenceId "${licence.licenceId}"`));
      } else {
        // A later record of the same version replaces it, as it would in the store.
        changeOf(licence.licenceId).versions.set(effectiveTimeOf(licence), licence);
      }
    });
    // Only what each licence's records add up to is written, and licences are independent, so
    // they all go at once: one round trip per batch instead of one per record.
    await Promise.all(
      [...changes].map(async ([licenceId, change]) => {
        if (change.wipe) await retry(() => deps.store.deleteLicence(licenceId));
        for (const version of change.versions.values()) await retry(() => deps.store.putLicence(version));
      }),
    );
    await retry(() => deps.deadLetters.send(dead));
    deps.metrics?.events.inc({ topic: batch.topic }, batch.messages.length);
    for (const d of dead) deps.metrics?.deadLetters.inc({ topic: batch.topic, code: d.error.code });
    logDeadLetters(deps.logger, dead);
  });
}
