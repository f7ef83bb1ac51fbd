/**
 * Proves the services the integration suite runs against are the real thing: a Kafka broker that
 * an independent client (kcat, on librdkafka) agrees with, a schema registry speaking the Confluent
 * API to the client library the detector uses, and a Redis server.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { ConfigResourceTypes, logLevel, type Admin, type Kafka } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPACTED_TOPIC_KINDS, topicNames, topicSpecs } from '../../src/config/topics.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import {
  KAFKA_BROKERS,
  REDIS_URL,
  SCHEMA_REGISTRY_URL,
  brokerList,
  createTopic,
  deleteTopics,
  testKafka,
  uniqueName,
  waitForMessages,
} from '../helpers/stack-env.ts';

const run = promisify(execFile);

async function kcat(args: string[], input?: string): Promise<string> {
  const child = run('kcat', ['-b', KAFKA_BROKERS, ...args], { timeout: 30_000 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new Error('kcat is not installed (Debian package kcat; .ci/run installs it)');
    }
    throw error;
  }
}

describe('Kafka broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(async () => {
    kafka = testKafka('stack-test');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await deleteTopics(admin, topics);
    await admin.disconnect();
  });

  it('is a single KRaft node that advertises the configured address', async () => {
    const cluster = await admin.describeCluster();
    expect(cluster.brokers).toHaveLength(1);
    expect(`${cluster.brokers[0]!.host}:${cluster.brokers[0]!.port}`).toBe(brokerList()[0]);
    expect(cluster.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('creates a topic, and kafkajs produces to it and consumes from it', async () => {
    const topic = await createTopic(admin, uniqueName('stack-kafkajs'), 3);
    topics.push(topic);
    const producer = kafka.producer();
    await producer.connect();
    const sent = ['p1', 'p2', 'p3', 'p4'].map((key, i) => ({ key, value: `report-${i}` }));
    try {
      await producer.send({ topic, messages: sent });
    } finally {
      await producer.disconnect();
    }

    const got = await waitForMessages(kafka, topic, sent.length);
    expect(got.map((m) => `${m.key?.toString()}=${m.value?.toString()}`).sort()).toEqual(
      sent.map((m) => `${m.key}=${m.value}`).sort(),
    );
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    expect(metadata.topics[0]!.partitions).toHaveLength(3);
  });

  it('does not create topics on first use', async () => {
    const ghost = uniqueName('stack-ghost');
    // Its own quiet client: the refusal is the expected outcome, not an error worth logging.
    const quiet = testKafka('stack-test-ghost', { logLevel: logLevel.NOTHING }).admin();
    await quiet.connect();
    try {
      await expect(quiet.fetchTopicMetadata({ topics: [ghost] })).rejects.toThrow(/does not host this topic/);
    } finally {
      await quiet.disconnect();
    }
    expect(await admin.listTopics()).not.toContain(ghost);
  });

  it('has the project topics, compacted where the design says so', async () => {
    const names = topicNames('ree');
    expect(await admin.listTopics()).toEqual(expect.arrayContaining(Object.values(names)));
    const configs = await admin.describeConfigs({
      includeSynonyms: false,
      resources: COMPACTED_TOPIC_KINDS.map((kind) => ({
        type: ConfigResourceTypes.TOPIC,
        name: names[kind],
        configNames: ['cleanup.policy'],
      })),
    });
    for (const resource of configs.resources) {
      expect(resource.configEntries.find((e) => e.configName === 'cleanup.policy')?.configValue).toBe('compact');
    }
  });

  it('ensureTopics creates only the missing topics', async () => {
    const prefix = uniqueName('stack-ensure');
    const specs = topicSpecs(prefix, { partitions: 2 });
    topics.push(...specs.map((s) => s.topic));
    const first = await ensureTopics(admin, specs.slice(0, 3));
    expect(first.created).toEqual(specs.slice(0, 3).map((s) => s.topic));
    const second = await ensureTopics(admin, specs);
    expect(second.existing).toEqual(specs.slice(0, 3).map((s) => s.topic));
    expect(second.created).toEqual(specs.slice(3).map((s) => s.topic));
    const third = await ensureTopics(admin, specs);
    expect(third.created).toEqual([]);
  });
});

describe('kcat (librdkafka, an independent client) against the same broker', () => {
  let kafka: Kafka;
  let admin: Admin;
  const topics: string[] = [];

  beforeAll(async () => {
    kafka = testKafka('stack-test-kcat');
    admin = kafka.admin();
    await admin.connect();
  });

  afterAll(async () => {
    await deleteTopics(admin, topics);
    await admin.disconnect();
  });

  it('lists the broker and our topic', async () => {
    const topic = await createTopic(admin, uniqueName('stack-kcat-list'), 2);
    topics.push(topic);
    const listing = await kcat(['-L', '-t', topic]);
    expect(listing).toMatch(new RegExp(`1 brokers:\\s+broker 1 at ${KAFKA_BROKERS.replaceAll('.', '\\.')}`));
    expect(listing).toContain(`topic "${topic}" with 2 partitions`);
  });

  it('reads a message that kafkajs wrote', async () => {
    const topic = await createTopic(admin, uniqueName('stack-kcat-read'));
    topics.push(topic);
    const value = JSON.stringify({ reportId: uniqueName('r'), quantityKg: 12.5 });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'PRODUCER-1', value }] });
    await producer.disconnect();

    const out = await kcat(['-C', '-t', topic, '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%k=%s\\n']);
    expect(out.trim()).toBe(`PRODUCER-1=${value}`);
  });

  it('writes a message that kafkajs reads', async () => {
    const topic = await createTopic(admin, uniqueName('stack-kcat-write'));
    topics.push(topic);
    await kcat(['-P', '-t', topic, '-K', '|'], 'PRODUCER-2|{"from":"kcat"}\n');
    const [message] = await waitForMessages(kafka, topic, 1);
    expect(message!.key?.toString()).toBe('PRODUCER-2');
    expect(JSON.parse(message!.value!.toString())).toEqual({ from: 'kcat' });
  });
});

describe('schema registry (Confluent API)', () => {
  const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
  const subject = `${uniqueName('stack-test')}-value`;
  const schemaV1 = {
    type: 'record',
    name: 'StackProbe',
    namespace: 'test.ree',
    fields: [
      { name: 'reportId', type: 'string' },
      { name: 'quantityKg', type: 'double' },
      { name: 'occurredAt', type: { type: 'long', logicalType: 'timestamp-millis' } },
    ],
  };
  // Backward compatible: the new field has a default.
  const schemaV2 = {
    ...schemaV1,
    fields: [...schemaV1.fields, { name: 'material', type: 'string', default: 'UNKNOWN' }],
  };

  afterAll(async () => {
    // Soft delete then hard delete, as the Confluent API requires; a leftover subject is harmless.
    await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${subject}`, { method: 'DELETE' }).catch(() => undefined);
    await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${subject}?permanent=true`, { method: 'DELETE' }).catch(
      () => undefined,
    );
  });

  it('round-trips an Avro record through register, encode, decode and lookups', async () => {
    const { id } = await registry.register(
      { type: SchemaType.AVRO, schema: JSON.stringify(schemaV1) },
      { subject },
    );
    expect(id).toBeGreaterThan(0);

    const record = { reportId: 'R-1', quantityKg: 1250.5, occurredAt: Date.parse('2026-03-01T08:00:00Z') };
    const encoded = await registry.encode(id, record);
    // Confluent wire format: magic byte 0, then the schema id big-endian.
    expect(encoded[0]).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);

    // A fresh client has nothing cached, so decoding must fetch the schema by id from the server.
    const fresh = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
    expect(await fresh.decode(encoded)).toEqual(record);

    const schema = await fresh.getSchema(id);
    expect((schema as { name?: string }).name).toBe('test.ree.StackProbe');
    expect(await fresh.getLatestSchemaId(subject)).toBe(id);

    const v2 = await registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(schemaV2) }, { subject });
    expect(v2.id).not.toBe(id);
    expect(await fresh.getLatestSchemaId(subject)).toBe(v2.id);

    const response = await fetch(`${SCHEMA_REGISTRY_URL}/subjects/${subject}/versions`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual([1, 2]);
  });

  it('rejects an incompatible change', async () => {
    const incompatible = {
      ...schemaV1,
      fields: [{ name: 'reportId', type: 'long' }],
    };
    await expect(
      registry.register({ type: SchemaType.AVRO, schema: JSON.stringify(incompatible) }, { subject }),
    ).rejects.toThrow();
  });
});

describe('Redis', () => {
  let redis: Redis;
  const prefix = uniqueName('stack-test');

  beforeAll(() => {
    redis = new Redis(REDIS_URL, { lazyConnect: false, maxRetriesPerRequest: 2 });
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('is Redis 7 or newer and round-trips values, hashes and a Lua script', async () => {
    const info = await redis.info('server');
    const version = /redis_version:(\d+)/.exec(info)?.[1];
    expect(Number(version)).toBeGreaterThanOrEqual(7);

    await redis.set(`${prefix}:k`, 'v', 'EX', 60);
    expect(await redis.get(`${prefix}:k`)).toBe('v');

    // Hash-tagged keys, as the state store uses: both land in one slot.
    const balance = `${prefix}:{PRODUCER-1}:balance`;
    const seen = `${prefix}:{PRODUCER-1}:seen`;
    await redis.hset(balance, 'NDFEB_MAGNET', '100');
    const script = `
      if redis.call('SADD', KEYS[2], ARGV[1]) == 0 then return -1 end
      return redis.call('HINCRBYFLOAT', KEYS[1], ARGV[2], ARGV[3])`;
    expect(await redis.eval(script, 2, balance, seen, 'R-1', 'NDFEB_MAGNET', '25.5')).toBe('125.5');
    expect(await redis.eval(script, 2, balance, seen, 'R-1', 'NDFEB_MAGNET', '25.5')).toBe(-1);
  });
});
