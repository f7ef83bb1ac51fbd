/**
 * A small model of a Kafka broker's transaction coordinator and idempotent producers, behind the
 * part of kafkajs's API the transactional producers use (output-transactions.test.ts,
 * reference-transactions.test.ts): transactions that send and add offsets, commits whose reply can
 * be lost before or after the coordinator took them, aborts and fencing by epoch, and the
 * broker's duplicate detection by sequence number.
 */
import type { Kafka } from 'kafkajs';

export interface Broker {
  /** Committed group offsets, `topic/partition` → offset and metadata. */
  offsets: Map<string, { offset: string; metadata: string | null }>;
  /** Messages of committed transactions. */
  log: string[];
  /** How the next commit request fails: it reached the coordinator (which completes it later), or it did not. */
  nextCommit?: 'lost-after' | 'lost-before';
  initialised: number;
  /** Every transaction call, in the order made. */
  calls: string[];
  /** The broker has aborted the open transaction and bumped the producer's epoch (it outlived its timeout): its next send fails as fenced. */
  abortOpen?: boolean;
  /** A newer producer of the id has fenced this one: its next abort fails as fenced. */
  fenceAbort?: boolean;
  /** Producers made (each reopening makes one, and its initialisation fences the one before). */
  opened: number;
  /** The group's offsets cannot be read (the broker away again). */
  offsetsUnreadable?: boolean;
  /** While set, adding offsets to a transaction waits for it (a slow coordinator). */
  offsetsGate?: Promise<void>;
  /** The next send is written but its reply is lost: it fails, and the producer's sequence does not move on. */
  loseSendReply?: boolean;
  /** While set, a send waits for it before it reaches the broker (a produce still on its way). */
  sendGate?: Promise<void>;
}

export function fakeKafka(broker: Broker): Kafka {
  /** A commit the coordinator received but did not answer: completed when the id is initialised again. */
  let pending: (() => void) | undefined;
  const producer = () => {
    broker.opened += 1;
    let stuck = false;
    // Idempotence as the broker keeps it per producer id and epoch: the next sequence the producer
    // will use (moved on by an acknowledged send only) and the last batch written, which a batch
    // numbered the same way is taken for (a retry) and acknowledged without being written.
    let sequence = 0;
    let lastWritten: { first: number; count: number } | undefined;
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async () => {
        if (stuck) throw new Error('Transaction state exception: Invalid state transition COMMITTING -> TRANSACTING');
        if (pending) pending();
        pending = undefined;
        broker.initialised += 1;
        let active = true;
        const sent: string[] = [];
        let offsets: { topic: string; partition: number; offset: string; metadata?: string }[] = [];
        const apply = () => {
          broker.log.push(...sent);
          for (const o of offsets) broker.offsets.set(`${o.topic}/${o.partition}`, { offset: o.offset, metadata: o.metadata ?? null });
        };
        return {
          send: async (r: { messages: { value: string }[] }) => {
            broker.calls.push('send');
            await broker.sendGate;
            if (broker.abortOpen) {
              broker.abortOpen = false;
              stuck = true;
              throw Object.assign(new Error('The producer attempted to use a producer id which is currently assigned to its transactional id'), { type: 'INVALID_PRODUCER_EPOCH' });
            }
            const count = r.messages.length;
            if (lastWritten?.first === sequence && lastWritten.count === count) {
              sequence += count;
              return;
            }
            lastWritten = { first: sequence, count };
            sent.push(...r.messages.map((m) => m.value));
            if (broker.loseSendReply) {
              broker.loseSendReply = false;
              throw Object.assign(new Error('Request Produce(key: 0, version: 7) timed out'), { type: 'REQUEST_TIMED_OUT', retriable: true });
            }
            sequence += count;
          },
          sendOffsets: async (o: { topics: { topic: string; partitions: { partition: number; offset: string; metadata?: string }[] }[] }) => {
            broker.calls.push('sendOffsets');
            await broker.offsetsGate;
            offsets = o.topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, ...p })));
          },
          commit: async () => {
            broker.calls.push('commit');
            active = false;
            const how = broker.nextCommit;
            broker.nextCommit = undefined;
            if (how) {
              stuck = true;
              if (how === 'lost-after') pending = apply;
              throw Object.assign(new Error('Request EndTxn timed out'), { type: 'REQUEST_TIMED_OUT', retriable: true });
            }
            apply();
          },
          abort: async () => {
            broker.calls.push('abort');
            if (broker.fenceAbort) {
              broker.fenceAbort = false;
              throw Object.assign(new Error('Producer attempted an operation with an old epoch'), { type: 'INVALID_PRODUCER_EPOCH' });
            }
            active = false;
          },
          isActive: () => active,
        };
      },
    };
  };
  const admin = () => ({
    connect: async () => undefined,
    disconnect: async () => undefined,
    fetchTopicMetadata: async () => ({ topics: [] }),
    fetchOffsets: async ({ topics }: { topics: string[] }) => {
      if (broker.offsetsUnreadable) throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { retriable: true });
      return topics.map((topic) => ({
        topic,
        partitions: [0, 1].map((partition) => ({ partition, offset: broker.offsets.get(`${topic}/${partition}`)?.offset ?? '-1', metadata: broker.offsets.get(`${topic}/${partition}`)?.metadata ?? null })),
      }));
    },
  });
  return { producer, admin } as unknown as Kafka;
}

export const newBroker = (): Broker => ({ offsets: new Map(), log: [], initialised: 0, calls: [], opened: 0 });
