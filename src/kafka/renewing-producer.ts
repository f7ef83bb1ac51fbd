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
 * a new one (Kafka's own producer bumps its epoch for the same reason, KIP-360). The old one is
 * closed once the sends already on it have settled: closing it under them would fail them, and
 * their callers would send again what may have been written.
 */
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';

export interface RenewingProducer extends Pick<Producer, 'send'> {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  /** Producers made so far (1 + renewals). */
  readonly made: number;
}

interface Made {
  producer: Producer;
  connected: Promise<void>;
  inFlight: number;
  retired: boolean;
  closed?: Promise<void>;
}

export function createRenewingProducer(kafka: Kafka, config: ProducerConfig, onRenew?: (err: unknown) => void): RenewingProducer {
  let made = 0;
  let stopped = false;
  let current: Made | undefined;
  /** Every producer made and not yet closed. */
  const open = new Set<Made>();

  const make = (): Made => {
    made += 1;
    const producer = kafka.producer(config);
    const one: Made = { producer, connected: producer.connect(), inFlight: 0, retired: false };
    one.connected.catch(() => undefined);
    open.add(one);
    return one;
  };
  const close = (one: Made): Promise<void> => {
    one.closed ??= one.producer
      .disconnect()
      .catch(() => undefined)
      .finally(() => open.delete(one));
    return one.closed;
  };
  const using = (): Made => {
    if (stopped) throw new Error('the Kafka producer is closed');
    return (current ??= make());
  };
  /** Only the producer the failed call went through, once: a second failure of it renews nothing twice. */
  const retire = (one: Made, err: unknown, renewing: boolean) => {
    if (current === one) current = undefined;
    if (one.retired) return;
    one.retired = true;
    if (renewing) onRenew?.(err);
    if (one.inFlight === 0) void close(one);
  };

  return {
    get made() {
      return made;
    },
    async connect() {
      const one = using();
      try {
        await one.connected;
      } catch (err) {
        // A producer that never connected is made again by the next call.
        retire(one, err, false);
        throw err;
      }
    },
    async send(record) {
      const one = using();
      one.inFlight += 1;
      try {
        await one.connected;
        return await one.producer.send(record);
      } catch (err) {
        retire(one, err, true);
        throw err;
      } finally {
        one.inFlight -= 1;
        if (one.retired && one.inFlight === 0) void close(one);
      }
    },
    async disconnect() {
      stopped = true;
      current = undefined;
      await Promise.all([...open].map(close));
    },
  };
}
