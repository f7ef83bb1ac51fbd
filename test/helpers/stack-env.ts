/**
 * Where the integration tests find the real services, and small helpers for talking to them.
 *
 * Addresses come from the same variables the detector reads (KAFKA_BROKERS, SCHEMA_REGISTRY_URL,
 * REDIS_URL). The global setup fills them in from the local stack's settings when they are unset,
 * so the defaults below only matter when a test file is run without it.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Kafka, logLevel, type Admin, type IHeaders, type KafkaConfig } from 'kafkajs';

export const KAFKA_BROKERS = process.env.KAFKA_BROKERS ?? '127.0.0.1:9092';
export const SCHEMA_REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export function brokerList(brokers: string = KAFKA_BROKERS): string[] {
  return brokers
    .split(',')
    .map((b) => b.trim())
    .filter((b) => b.length > 0);
}

/**
 * A name no other test (or earlier run against the same long-lived broker) has used, safe as a
 * Kafka topic, consumer group, registry subject or Redis key part.
 */
export function uniqueName(prefix: string): string {
  const safe = prefix.replace(/[^a-zA-Z0-9._-]/g, '-');
  const name = `${safe}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
  made.push(name);
  return name;
}

const made: string[] = [];

/** The names uniqueName gave in this test file: a detector run on one keeps its state under it. */
export const uniqueNamesMade = (): readonly string[] => made;

/** A kafkajs client for tests: quiet unless something is really wrong. */
export function testKafka(clientId = 'ree-test', overrides: Partial<KafkaConfig> = {}): Kafka {
  return new Kafka({
    clientId,
    brokers: brokerList(),
    logLevel: logLevel.ERROR,
    ...overrides,
  });
}

export interface CreateTopicOptions {
  configEntries?: { name: string; value: string }[];
}

/**
 * Creates a topic and waits for its partition leaders, so a producer can write at once (the
 * broker does not auto-create topics). Returns the name for chaining into a cleanup list.
 */
export async function createTopic(
  admin: Admin,
  name: string,
  partitions = 1,
  options: CreateTopicOptions = {},
): Promise<string> {
  const created = await admin.createTopics({
    waitForLeaders: true,
    topics: [
      {
        topic: name,
        numPartitions: partitions,
        replicationFactor: 1,
        configEntries: options.configEntries ?? [],
      },
    ],
  });
  if (!created) throw new Error(`topic ${name} already exists; use uniqueName() for test topics`);
  return name;
}

/** Best-effort cleanup: a test's own failure matters more than a topic that would not go. */
export async function deleteTopics(admin: Admin, names: readonly string[]): Promise<void> {
  if (names.length === 0) return;
  const existing = new Set(await admin.listTopics());
  const topics = names.filter((n) => existing.has(n));
  if (topics.length > 0) await admin.deleteTopics({ topics }).catch(() => undefined);
}

export interface ReceivedMessage {
  topic: string;
  partition: number;
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  headers: IHeaders;
  timestamp: string;
}

export interface WaitForMessagesOptions {
  /** Give up after this long (default 30 s). */
  timeoutMs?: number;
  /** Consumer group; a fresh one by default so every call reads the topic from the start. */
  groupId?: string;
  /** Read what was written before subscribing (default true). */
  fromBeginning?: boolean;
  /** Only count messages this accepts (e.g. one test's keys on a shared topic). */
  filter?: (message: ReceivedMessage) => boolean;
}

/**
 * Consumes from the topic(s) until `count` matching messages have arrived, then returns them in
 * arrival order (at least `count`; a batch can bring more). Throws, with what did arrive, on timeout.
 * Offsets are not committed, so the throwaway group leaves nothing behind that matters.
 */
export async function waitForMessages(
  kafka: Kafka,
  topics: string | readonly string[],
  count: number,
  options: WaitForMessagesOptions = {},
): Promise<ReceivedMessage[]> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const consumer = kafka.consumer({
    groupId: options.groupId ?? uniqueName('ree-test-wait'),
    // Short timeouts: the throwaway member should not hold up the next test's rebalance.
    sessionTimeout: 10_000,
    heartbeatInterval: 1_000,
    maxWaitTimeInMs: 200,
  });
  const received: ReceivedMessage[] = [];
  let done: () => void = () => undefined;
  const enough = new Promise<void>((resolve) => {
    done = resolve;
  });
  try {
    await consumer.connect();
    await consumer.subscribe({
      topics: typeof topics === 'string' ? [topics] : [...topics],
      fromBeginning: options.fromBeginning ?? true,
    });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ topic, partition, message }) => {
        const m: ReceivedMessage = {
          topic,
          partition,
          offset: message.offset,
          key: message.key,
          value: message.value,
          headers: message.headers ?? {},
          timestamp: message.timestamp,
        };
        if (options.filter && !options.filter(m)) return;
        received.push(m);
        if (received.length >= count) done();
      },
    });
    const timedOut = Symbol('timeout');
    const outcome = await Promise.race([enough, sleep(timeoutMs, timedOut)]);
    if (outcome === timedOut) {
      throw new Error(
        `waited ${timeoutMs} ms for ${count} message(s) on ${String(topics)}, got ${received.length}` +
          (received.length > 0 ? `: ${received.map((m) => m.value?.toString('utf8')).join(' | ')}` : ''),
      );
    }
    return [...received];
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

/** Polls until the check passes; for state that becomes true eventually (Redis keys, offsets...). */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  options: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<void> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  for (;;) {
    if (await check()) return;
    if (Date.now() >= deadline) throw new Error(`timed out waiting for ${options.what ?? 'a condition'}`);
    await sleep(options.intervalMs ?? 100);
  }
}
