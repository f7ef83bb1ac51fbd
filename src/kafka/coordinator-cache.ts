/**
 * Transactional producers that remember their coordinators.
 *
 * kafkajs asks a broker which one coordinates the transaction before every AddPartitionsToTxn,
 * AddOffsetsToTxn and EndTxn, and which one coordinates the consumer group before every
 * TxnOffsetCommit: three or four FindCoordinator round trips in each output transaction (one per
 * partition index per fetch), for an answer that changes only when a broker fails or the
 * coordinators' partitions move. The commit's lookup is on a batch's path to its alerts, and every
 * lookup costs a request's CPU here and at the broker, both on the cores the detector runs on.
 *
 * The answer is kept per producer (kafkajs gives each producer a cluster of its own) and asked
 * again once any request to that broker fails (a NOT_COORDINATOR answer, a lost connection: the
 * caller's retry then looks it up afresh), and after `ttlMs` in any case.
 *
 * kafkajs has no option for this, and the lookup is a method of the producer's cluster, which it
 * builds through a private member of the client: the member is wrapped while the producer is made.
 * A kafkajs without that member makes plain producers (lookups as before).
 */
import type { Kafka, Producer, ProducerConfig } from 'kafkajs';

interface CoordinatorQuery {
  groupId: string;
  coordinatorType?: number;
}
type FindCoordinator = (query: CoordinatorQuery) => Promise<object>;

/** How long a coordinator is trusted without a failure (a safety net: a moved one fails requests). */
export const COORDINATOR_TTL_MS = 60_000;

/** kafkajs 2.x: the client's member that builds a cluster (one per producer, consumer or admin). */
const CREATE_CLUSTER = 'private:Kafka:createCluster';

/**
 * `find` with its answers kept per (coordinator type, group id) until a request to the broker it
 * gave fails, or `ttlMs` has passed; a failed lookup is not kept.
 */
export function rememberingCoordinators(find: FindCoordinator, options: { ttlMs?: number; now?: () => number } = {}): FindCoordinator {
  const ttlMs = options.ttlMs ?? COORDINATOR_TTL_MS;
  const now = options.now ?? Date.now;
  const known = new Map<string, { at: number; broker: Promise<object> }>();
  return (query) => {
    const key = `${query.coordinatorType ?? 0}:${query.groupId}`;
    const hit = known.get(key);
    if (hit && now() - hit.at < ttlMs) return hit.broker;
    const forget = () => {
      if (known.get(key) === entry) known.delete(key);
    };
    const entry = { at: now(), broker: find(query).then((broker) => forgettingOnFailure(broker, forget)) };
    known.set(key, entry);
    entry.broker.catch(forget);
    return entry.broker;
  };
}

/** The broker, whose requests (its methods) call `forget` when they fail. */
function forgettingOnFailure(broker: object, forget: () => void): object {
  return new Proxy(broker, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        try {
          const result: unknown = value.apply(target, args);
          if (result instanceof Promise) result.catch(forget);
          return result;
        } catch (err) {
          forget();
          throw err;
        }
      };
    },
  });
}

/** A producer of `kafka` (see the file's comment) whose coordinator lookups are remembered. */
export function producerRememberingCoordinators(kafka: Kafka, config: ProducerConfig): Producer {
  const client = kafka as unknown as Record<symbol, unknown>;
  const member = Object.getOwnPropertySymbols(kafka).find((s) => s.description === CREATE_CLUSTER);
  const create = member === undefined ? undefined : client[member];
  if (member === undefined || typeof create !== 'function') return kafka.producer(config);
  client[member] = (...args: unknown[]) => {
    const cluster = create(...args) as { findGroupCoordinator?: unknown };
    const find = cluster.findGroupCoordinator;
    if (typeof find === 'function') cluster.findGroupCoordinator = rememberingCoordinators((query) => find.call(cluster, query) as Promise<object>);
    return cluster;
  };
  try {
    // kafkajs builds the producer's cluster synchronously, here.
    return kafka.producer(config);
  } finally {
    client[member] = create;
  }
}
