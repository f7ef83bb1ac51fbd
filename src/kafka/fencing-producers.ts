/**
 * One transactional producer per owned partition, shared by the report path's output transactions
 * and the watchlist's reference transactions (src/producers/). Opening a producer runs a first,
 * empty transaction: initialising the producer id is what fences the partition's previous owner
 * and makes the broker finish whatever transaction that owner left.
 */
import type { Kafka, Producer, Transaction } from 'kafkajs';
import { ReeError } from '../errors.ts';
import { producerRememberingCoordinators } from './coordinator-cache.ts';

export interface FencingProducers {
  /** Closes the producers held, then opens (and fences with) one per partition; resolves once all are open. */
  assign(partitions: readonly number[]): Promise<void>;
  /** The partition's producer (its opening may still be under way or have failed), or undefined when not owned or fenced off. */
  get(partition: number): Promise<Producer> | undefined;
  /**
   * Replaces the partition's producer with a new one of the same transactional id, unless `stale`
   * was already replaced. kafkajs leaves a producer whose commit or abort failed in COMMITTING or
   * ABORTING, refusing every later transaction, so this is also how a partition works again.
   */
  reopen(partition: number, stale: Promise<Producer>): Promise<void>;
  /**
   * `producer` (by default the partition's current one) once open. One whose opening failed is
   * opened again, for the next caller, and this call fails with the opening's error; with no
   * producer (the partition not owned), REE_ERR_FENCED. A producer opened after a transaction has
   * finished that transaction either way: its initialisation makes the broker complete or abort it.
   */
  whenOpen(partition: number, producer?: Promise<Producer>): Promise<Producer>;
  /** Forgets a fenced partition's producer: nothing more goes out for it until the next assignment. */
  drop(partition: number): void;
  close(): Promise<void>;
}

export function createFencingProducers(options: { kafka: Kafka; transactionalIdOf: (partition: number) => string; transactionTimeoutMs?: number | undefined }): FencingProducers {
  let producers = new Map<number, Promise<Producer>>();

  const open = async (partition: number): Promise<Producer> => {
    const producer = producerRememberingCoordinators(options.kafka, {
      transactionalId: options.transactionalIdOf(partition),
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      transactionTimeout: options.transactionTimeoutMs ?? 60_000,
    });
    await producer.connect();
    const first = await producer.transaction();
    await first.abort();
    return producer;
  };
  const disconnect = (p: Promise<Producer>) => p.then((producer) => producer.disconnect()).catch(() => undefined);
  const closeAll = (which: Map<number, Promise<Producer>>) => Promise.all([...which.values()].map(disconnect));

  const fencing: FencingProducers = {
    async assign(partitions) {
      const previous = producers;
      producers = new Map();
      await closeAll(previous);
      // Kept even if one fails, so close() finds it; the caller retries the whole assignment.
      producers = new Map(partitions.map((p) => [p, open(p)] as const));
      await Promise.all(producers.values());
    },
    get: (partition) => producers.get(partition),
    async whenOpen(partition, producer = producers.get(partition)) {
      if (!producer) throw new ReeError('REE_ERR_FENCED', `partition ${partition} is no longer assigned here: its next owner settles its transactions`, { retriable: false });
      return producer.catch(async (openErr: unknown) => {
        await fencing.reopen(partition, producer);
        throw openErr;
      });
    },
    async reopen(partition, stale) {
      if (producers.get(partition) !== stale) return;
      const fresh = open(partition);
      producers.set(partition, fresh);
      void disconnect(stale);
      await fresh;
    },
    drop(partition) {
      const producer = producers.get(partition);
      producers.delete(partition);
      if (producer) void disconnect(producer);
    },
    async close() {
      const all = producers;
      producers = new Map();
      await closeAll(all);
    },
  };
  return fencing;
}

/**
 * Transactions one of whose sends failed, or was still on its way when the transaction ended.
 * kafkajs numbers an idempotent producer's record batches per partition, moves the number on only
 * when a send succeeds, and starts again only when the producer id is initialised. A send whose
 * retries ran out may still have been written (its reply lost); the transaction is then aborted,
 * and the redo's batch, carrying the same numbers and as many records (the same alerts, sent
 * again), would be taken by the broker for that one and acknowledged without being written: lost
 * with the aborted one. So a producer that had a send fail is reopened (a new producer id epoch,
 * numbers from 0) before its next transaction, as Kafka's own producer bumps its epoch after such
 * an error (KIP-360). This is also why kafkajs's warning that limited retries may invalidate
 * exactly-once is only a debug line here (client.ts).
 *
 * A send still in flight counts too: a transaction whose other step failed first (a Redis write
 * beside the publish) is aborted without waiting for it (kafkajs's abort does not), and a failure
 * after that would be noted too late; or its retry, still running, would add its records to the
 * next transaction of the same producer, the redo's copy going out beside them. The reopen's new
 * epoch fences such a straggler.
 */
const sendsOf = new WeakMap<Transaction, { inFlight: number; failed: boolean }>();

/** The transaction as a sender that notes a failed send, and one in flight (sendFailed). */
export function noteFailedSends(txn: Transaction): Pick<Transaction, 'send'> {
  const sends = sendsOf.get(txn) ?? { inFlight: 0, failed: false };
  sendsOf.set(txn, sends);
  return {
    send: async (record) => {
      sends.inFlight += 1;
      try {
        return await txn.send(record);
      } catch (err) {
        sends.failed = true;
        throw err;
      } finally {
        sends.inFlight -= 1;
      }
    },
  };
}

/**
 * Whether a send of `txn` made through noteFailedSends failed or is still on its way: its producer
 * must be reopened before it sends again.
 */
export const sendFailed = (txn: Transaction): boolean => {
  const sends = sendsOf.get(txn);
  return sends !== undefined && (sends.failed || sends.inFlight > 0);
};
