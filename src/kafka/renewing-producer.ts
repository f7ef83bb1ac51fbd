/**
 * The plain (non-transactional) idempotent producer the detector shares between its sinks (the
 * reference consumers' dead letters; alerts where no transaction carries them), renewed after a
 * failed send.
 *
 * kafkajs numbers an idempotent producer's batches per partition and moves the number on only when
 * a send is acknowledged. A send whose retries ran out may have been written all the same (its
 * reply lost); the next send to that partition, by whichever caller, reuses its numbers, and if it
 * carries as many records the broker takes it for that one and acknowledges it without writing it:
 * one caller's dead letter silently lost, and the first caller's retry written a second time. A new
 * producer has a new producer id, numbered from 0, so after a failed send the next send goes through
 * a new one (Kafka's own producer bumps its epoch for the same reason, KIP-360).
 */
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';

export interface RenewingProducer extends Pick<Producer, 'send'> {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Producers made so far (1 + renewals). */
  readonly made: number;
}

export function createRenewingProducer(kafka: Kafka, config: ProducerConfig, onRenew?: (err: unknown) => void): RenewingProducer {
  let made = 0;
  const make = (): { producer: Producer; connected: Promise<void> } => {
    made += 1;
    const producer = kafka.producer(config);
    return { producer, connected: producer.connect() };
  };
  let current: ReturnType<typeof make> | undefined;
  /** Producers replaced, still closing (a send of theirs may be on its way). */
  const retiring = new Set<Promise<void>>();

  const renew = (failed: ReturnType<typeof make>, err: unknown) => {
    // Only the producer the failed send went through: a second failure of it renews nothing twice.
    if (current !== failed) return;
    current = undefined;
    onRenew?.(err);
    const closing = failed.producer.disconnect().catch(() => undefined);
    retiring.add(closing);
    void closing.then(() => retiring.delete(closing));
  };

  return {
    get made() {
      return made;
    },
    async connect() {
      const using = (current ??= make());
      try {
        await using.connected;
      } catch (err) {
        // A producer that never connected is made again by the next call.
        if (current === using) current = undefined;
        throw err;
      }
    },
    async send(record) {
      const using = (current ??= make());
      try {
        await using.connected;
        return await using.producer.send(record);
      } catch (err) {
        renew(using, err);
        throw err;
      }
    },
    async disconnect() {
      const last = current;
      current = undefined;
      await Promise.all([last?.producer.disconnect(), ...retiring]);
    },
  };
}
