/**
 * Reads the compacted licences topic into the shared state store, so every detector instance
 * sees every licence whichever partitions it owns. Each record is a version of its licence, kept
 * beside the others (see licence-versions.ts); a tombstone deletes the licence. The report consumer
 * starts only once this one has caught up with what the topic held at start, or early exports
 * would be judged against a half-loaded licence register.
 */
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Decoder } from '../codec/decode.ts';
import { groupTiming } from '../kafka/group-timing.ts';
import type { Licence } from '../domain/events.ts';
import { effectiveTimeOf } from '../domain/licence-versions.ts';
import { InvalidRecordError } from '../errors.ts';
import type { Logger } from '../ops/logger.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import type { DeadLetter, DeadLetterSink } from '../producers/dead-letter-sink.ts';
import type { StateStore } from '../state/store.ts';
import { createCatchUp } from './catch-up.ts';

export interface LicenceConsumerDeps {
  kafka: Kafka;
  admin: Admin;
  groupId: string;
  topic: string;
  decoder: Decoder;
  store: StateStore;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
  logger: Logger;
  /** Called when kafkajs has stopped the consumer and will not restart it. */
  onFatal?: (err: unknown) => void;
  sessionTimeoutMs?: number;
}

interface LicenceChange {
  /** A tombstone came: every version stored so far goes. */
  wipe: boolean;
  /** Effective time → the last record of that version in the batch. */
  versions: Map<number, Licence>;
}

export interface LicenceConsumer {
  start(): Promise<void>;
  /** Resolves once every partition has been read up to its end offset at start time. */
  caughtUp(timeoutMs: number): Promise<boolean>;
  stop(): Promise<void>;
}

export function createLicenceConsumer(deps: LicenceConsumerDeps): LicenceConsumer {
  let consumer: Consumer | undefined;
  const catchUp = createCatchUp(deps.admin, deps.groupId, deps.topic);

  return {
    async start() {
      await catchUp.start();
      consumer = deps.kafka.consumer({ groupId: deps.groupId, allowAutoTopicCreation: false, ...groupTiming(deps.sessionTimeoutMs) });
      consumer.on(consumer.events.CRASH, (e) => {
        deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'licence consumer crashed');
        if (!e.payload.restart) deps.onFatal?.(e.payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [deps.topic], fromBeginning: true });
      await consumer.run({
        eachBatchAutoResolve: false,
        eachBatch: async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary }) => {
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
          resolveOffset(batch.lastOffset());
          catchUp.reached(batch.partition, batch.lastOffset());
          await commitOffsetsIfNecessary();
          await heartbeat();
        },
      });
    },
    caughtUp: (timeoutMs) => catchUp.caughtUp(timeoutMs),
    async stop() {
      await consumer?.disconnect();
    },
  };
}
