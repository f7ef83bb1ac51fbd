/**
 * The quota consumer on the real broker, registry and Redis: what ree.quotas.v1 held at start is in
 * the shared Redis register once the consumer says it has caught up, Avro and JSON alike; bad
 * records are dead-lettered with the reason; a tombstone withdraws a quota.
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { createEncoder } from '../../src/codec/encode.ts';
import { topicNames } from '../../src/config/topics.ts';
import { createQuotaConsumer } from '../../src/consumers/quota-consumer.ts';
import { createLogger } from '../../src/ops/logger.ts';
import type { DeadLetter } from '../../src/producers/dead-letter-sink.ts';
import { createRedisQuotaRegister } from '../../src/state/redis-quota-register.ts';
import { quota } from '../helpers/quota-register-contract.ts';
import { deleteKeysWithPrefix } from '../helpers/redis-state.ts';
import { REDIS_URL, SCHEMA_REGISTRY_URL, createTopic, deleteTopics, testKafka, uniqueName } from '../helpers/stack-env.ts';

const prefix = uniqueName('ree-quota-it');
const topics = topicNames(prefix);
const kafka = testKafka('ree-quota-it');
const admin = kafka.admin();
const producer = kafka.producer();
const registry = new SchemaRegistry({ host: SCHEMA_REGISTRY_URL });
let redis: Redis;

beforeAll(async () => {
  redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 2 });
  await admin.connect();
  await producer.connect();
  await createTopic(admin, topics.quotas, 2, { configEntries: [{ name: 'cleanup.policy', value: 'compact' }] });
}, 60_000);

afterAll(async () => {
  await producer.disconnect();
  await deleteTopics(admin, [topics.quotas]);
  await admin.disconnect();
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe('quota consumer on Kafka and Redis', () => {
  it('loads the topic into the Redis register before saying it has caught up', async () => {
    const encoder = createEncoder({ registry, topicNames: topics });
    await encoder.registerSchemas();
    const avro = quota({ quotaId: 'Q-AVRO', producerId: 'P-MINE', materials: ['NDPR_OXIDE', 'LA_OXIDE'], quotaKg: 2_500_000 });
    const json = quota({ quotaId: 'Q-JSON', producerId: 'P-SEP', materials: ['DY_OXIDE'], quotaKg: 40_000 });
    const withdrawn = quota({ quotaId: 'Q-GONE', producerId: 'P-SEP' });
    await producer.send({
      topic: topics.quotas,
      messages: [
        { key: avro.quotaId, value: await encoder.encode('quotas', avro) },
        { key: json.quotaId, value: JSON.stringify(json) },
        { key: withdrawn.quotaId, value: JSON.stringify(withdrawn) },
        { key: withdrawn.quotaId, value: null },
        { key: 'Q-BAD', value: JSON.stringify({ ...quota({ quotaId: 'Q-BAD' }), year: 1850 }) },
      ],
    });
    const dead: DeadLetter[] = [];
    const register = createRedisQuotaRegister({ redis, prefix });
    const consumer = createQuotaConsumer({
      kafka,
      admin,
      groupId: `${prefix}.quotas`,
      topic: topics.quotas,
      decoder: createDecoder({ registry }),
      quotas: register,
      deadLetters: { send: async (letters) => void dead.push(...letters) },
      logger: createLogger('silent'),
    });
    try {
      await consumer.start();
      expect(await consumer.caughtUp(30_000)).toBe(true);
      const held = await register.quotasOf(['P-MINE', 'P-SEP']);
      expect(held.get('P-MINE')).toEqual([avro]);
      expect(held.get('P-SEP')).toEqual([json]);
      expect(dead.map((d) => d.key?.toString())).toEqual(['Q-BAD']);
      expect(dead[0]!.error.message).toMatch(/year/);
    } finally {
      await consumer.stop();
    }
  }, 60_000);
});
