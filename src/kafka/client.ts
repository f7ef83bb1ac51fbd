/**
 * The kafkajs client every long-running command builds the same way: brokers from the settings,
 * kafkajs's own log lines turned into ours (JSON on stderr), and retries that outlast a broker blip.
 */
import { createRequire } from 'node:module';
import { Kafka, logLevel as KafkaLogLevel, Partitioners, type Admin } from 'kafkajs';
import { settingName, type Settings } from '../config/settings.ts';
import type { Logger } from '../ops/logger.ts';
import { reach } from '../ops/resources.ts';
// Every client built here (and any other in the process): kafkajs's idle request queues spin on a timer without it.
import './request-queue-fix.ts';

/**
 * The Kafka protocol errors, with the message kafkajs logs each with: its own table, the one its
 * retries go by. A module of the package's rather than of its typed API, which kafkajs 2.x (no
 * longer released) will not move; were it missing, every broker reply with an error would stay an
 * error line.
 */
function protocolErrors(): readonly { type: string; message: string; retriable: boolean }[] {
  try {
    return (createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as { errorCodes: { type: string; message: string; retriable: boolean }[] }).errorCodes;
  } catch {
    return [];
  }
}

/** Message → type of the errors given, for telling a logged reply's error by its text. */
const byMessage = (errors: readonly { type: string; message: string }[]): ReadonlyMap<string, string> => new Map(errors.map((e) => [e.message, e.type]));

const PROTOCOL_ERRORS = protocolErrors();
const RETRIABLE = byMessage(PROTOCOL_ERRORS.filter((e) => e.retriable));
/**
 * REBALANCE_IN_PROGRESS ("The group is rebalancing, so a rejoin is needed") is not retriable in
 * kafkajs's table: kafkajs answers it by rejoining the group. A broker gives it to every member's
 * heartbeat, fetch and commit while an instance joins or leaves, which is scaling working as
 * designed (DESIGN.md: scale-out is Kafka's); a second instance's start and stop logged ~50 error
 * lines. ILLEGAL_GENERATION (a heartbeat or commit of the generation just ended, in the same
 * rebalance) and UNKNOWN_MEMBER_ID (a member the coordinator dropped, e.g. after its session timed
 * out) are answered the same way. A rejoin that fails is logged by kafkajs as the failure it is (a
 * crash: the consumer's CRASH handler); so is its own line on being dropped ("The coordinator is not
 * aware of this member, re-joining the group"), which is not a broker's reply.
 */
const REJOINED = byMessage(PROTOCOL_ERRORS.filter((e) => ['REBALANCE_IN_PROGRESS', 'ILLEGAL_GENERATION', 'UNKNOWN_MEMBER_ID'].includes(e.type)));

/**
 * kafkajs logs every broker reply that carries an error at error level, and then retries the
 * request: a coordinator still loading or moved, a leader election under way, a transaction step
 * the broker is still finishing (CONCURRENT_TRANSACTIONS right after a commit). A healthy start-up
 * printed a dozen such lines and the exactly-once path a few a minute, though nothing had failed.
 * Such a reply is a warning here, named by the error's type; a request whose retries run out fails
 * its operation, and that failure is logged where it is handled.
 */
export function retriedReplyError(message: string, error: unknown): string | undefined {
  return isReply(message, error) ? RETRIABLE.get(error) : undefined;
}

/** A broker reply kafkajs answers by rejoining the group (REJOINED): its error's type, else undefined. */
export function rejoinReplyError(message: string, error: unknown): string | undefined {
  return isReply(message, error) ? REJOINED.get(error) : undefined;
}

/** kafkajs's line for a broker's reply with an error ("Response Heartbeat(key: 12, version: 3)"), not its giving up ("Crash"). */
const isReply = (message: string, error: unknown): error is string => message.startsWith('Response ') && typeof error === 'string';

/** An error line of kafkajs's that is an expected broker reply: its type and what kafkajs does next, else undefined. */
function expectedReply(message: string, error: unknown): { errorType: string; then: string } | undefined {
  const retried = retriedReplyError(message, error);
  if (retried) return { errorType: retried, then: 'retried' };
  const rejoined = rejoinReplyError(message, error);
  return rejoined ? { errorType: rejoined, then: 'rejoining the group' } : undefined;
}

/**
 * kafkajs warns once per idempotent producer whose retries are bounded (every producer here: a
 * broker away for minutes must fail a batch, not hang it). Its concern is a send given up on that
 * was written after all. The transactional producers are reopened after such a send
 * (fencing-producers.ts, sendFailed), and the plain producer is replaced by a new one
 * (renewing-producer.ts), so no later send is taken for the failed one. A start-up printed it once per
 * partition index, as a warning of lost exactly-once that does not apply: a debug line here.
 */
const BOUNDED_RETRIES_WARNING = 'Limiting retries for the idempotent producer may invalidate EoS guarantees';

function kafkaLogCreator(logger: Logger, state: { muted: boolean }) {
  return () =>
    ({ level, log }: { level: number; log: { message: string } & Record<string, unknown> }) => {
      if (state.muted) return;
      const { message, ...extra } = log;
      if (level <= KafkaLogLevel.ERROR) {
        const expected = expectedReply(message, extra['error']);
        if (expected) logger.warn({ ...extra, errorType: expected.errorType }, `kafka: ${message} (${expected.then})`);
        else logger.error(extra, `kafka: ${message}`);
      } else if (level === KafkaLogLevel.WARN && message !== BOUNDED_RETRIES_WARNING) logger.warn(extra, `kafka: ${message}`);
      else logger.debug(extra, `kafka: ${message}`);
    };
}

/**
 * A client for a short job or a tool (record, simulate, the benches): kafkajs's own logger at
 * error level only, no mapping of its lines. Built here so it gets the request-queue fix too.
 */
export function quietKafkaClient(clientId: string, brokers: string[]): Kafka {
  return keyPartitionedProducers(new Kafka({ clientId, brokers, logLevel: KafkaLogLevel.ERROR, logCreator: quietLogCreator }));
}

/**
 * Every producer of the client built with kafkajs's DefaultPartitioner named, unless its caller names
 * another. It is the partitioner kafkajs 2.x uses anyway (the same function: no key moves): murmur2
 * of the key, as the Java clients and kcat's murmur2_random do, which the topics rely on, a
 * producer's reports landing on the same partition number of every report topic (DESIGN.md,
 * README). Left unnamed, kafkajs warned at every start that its default had changed in 2.0.0 (from
 * LegacyPartitioner, which is not what these topics were written with). Here, not at each
 * kafka.producer call: the transactional producers are built elsewhere (fencing-producers.ts), and
 * the first unnamed one anywhere in the process would bring the warning back.
 */
function keyPartitionedProducers(kafka: Kafka): Kafka {
  const producer = kafka.producer.bind(kafka);
  kafka.producer = (config) => producer({ ...config, createPartitioner: config?.createPartitioner ?? Partitioners.DefaultPartitioner });
  return kafka;
}

const isConnectAttempt = (namespace: string | undefined, message: string): boolean =>
  (namespace === 'Connection' && message.startsWith('Connection error')) || (namespace === 'BrokerPool' && message.startsWith('Failed to connect to seed broker'));

/** How long a short command waits for its first answer from the brokers before saying it cannot reach them. */
const SHORT_COMMAND_REACH_MS = 15_000;

/**
 * A short command's first contact with Kafka (record, simulate --to-kafka): an admin connected,
 * or, once kafkajs has given up, one line naming the brokers and the setting that says where they
 * are, instead of kafkajs's error and its stack.
 */
export async function connectAdmin(kafka: Kafka, brokers: readonly string[]): Promise<Admin> {
  const admin = kafka.admin();
  await reach({ what: 'Kafka', where: brokers.join(','), setting: settingName('kafkaBrokers') }, SHORT_COMMAND_REACH_MS, () => admin.connect());
  return admin;
}

/**
 * kafkajs's own JSON lines on stderr, less what it retries: broker replies (retriedReplyError; the
 * benches' exactly-once floor printed a screenful of CONCURRENT_TRANSACTIONS replies per run) and
 * attempts to connect (a command that cannot reach the brokers printed a dozen lines with stacks
 * before it failed; connectAdmin's one line says it).
 */
function quietLogCreator() {
  return ({ namespace, label, log }: { namespace?: string; label: string; log: { message: string; timestamp: string } & Record<string, unknown> }) => {
    const { message, timestamp, ...extra } = log;
    if (retriedReplyError(message, extra['error']) || isConnectAttempt(namespace, message)) return;
    process.stderr.write(`${JSON.stringify({ level: label, timestamp, logger: 'kafkajs', message: namespace ? `[${namespace}] ${message}` : message, ...extra })}\n`);
  };
}

export function createKafkaClient(settings: Pick<Settings, 'kafkaBrokers'>, logger: Logger, clientId: string): Kafka {
  const state = { muted: false };
  const kafka = new Kafka({
    clientId,
    brokers: settings.kafkaBrokers,
    logLevel: KafkaLogLevel.WARN,
    logCreator: kafkaLogCreator(logger, state),
    retry: { retries: 8 },
  });
  logStates.set(kafka, state);
  return keyPartitionedProducers(kafka);
}

const logStates = new WeakMap<Kafka, { muted: boolean }>();

/**
 * Drops the client's log lines from now on, once everything it serves is closed. A connection a
 * failed start-up gave up on is still retried by kafkajs until the process exits, and its errors
 * would otherwise come after the one fatal line that says what to fix.
 */
export function muteKafkaLogs(kafka: Kafka): void {
  const state = logStates.get(kafka);
  if (state) state.muted = true;
}
