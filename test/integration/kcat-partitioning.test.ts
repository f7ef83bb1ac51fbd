/**
 * The README's kcat recipe keeps co-partitioning: a report sent with it lands on the partition
 * kafkajs (and the Java clients) choose for the same key, so the producer's reports on every topic
 * meet in one instance. kcat's default partitioner would not.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/cli.ts';
import { KAFKA_BROKERS, createTopic, deleteTopics, testKafka, uniqueName, waitForMessages } from '../helpers/stack-env.ts';

const KEYS = Array.from({ length: 24 }, (_, i) => `P-${String(i + 1).padStart(4, '0')}`);

/** The kcat flags of the README's recipe, from the README itself. */
function readmeKcatFlags(): string[] {
  const recipe = /\|\s*kcat (-P .*)$/m.exec(readFileSync(join(ROOT, 'README.md'), 'utf8'));
  if (!recipe) throw new Error('README has no kcat -P recipe');
  const flags = recipe[1]!.split(/\s+/);
  // The recipe's own broker and topic are replaced by the test's.
  const drop = new Set(['-b', '-t', '-K']);
  return flags.filter((flag, i) => !drop.has(flag) && !drop.has(flags[i - 1] ?? ''));
}

describe("the README's kcat recipe", () => {
  const kafka = testKafka('ree-kcat');
  let admin: Admin;
  let kafkajsTopic: string;
  let kcatTopic: string;

  beforeAll(async () => {
    admin = kafka.admin();
    await admin.connect();
    kafkajsTopic = await createTopic(admin, uniqueName('ree-kcat-kafkajs'), 6);
    kcatTopic = await createTopic(admin, uniqueName('ree-kcat-kcat'), 6);
  });

  afterAll(async () => {
    await deleteTopics(admin, [kafkajsTopic, kcatTopic]);
    await admin.disconnect();
  });

  it('puts each key on the partition kafkajs puts it on', async () => {
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: kafkajsTopic, messages: KEYS.map((key) => ({ key, value: '{}' })) });
    await producer.disconnect();
    execFileSync('kcat', [...readmeKcatFlags(), '-b', KAFKA_BROKERS, '-t', kcatTopic, '-K', '|'], { input: KEYS.map((k) => `${k}|{}\n`).join(''), timeout: 20_000 });

    const partitionOf = async (topic: string) =>
      new Map((await waitForMessages(kafka, topic, KEYS.length)).map((m) => [m.key!.toString(), m.partition]));
    const [byKafkajs, byKcat] = await Promise.all([partitionOf(kafkajsTopic), partitionOf(kcatTopic)]);
    expect(new Set(byKafkajs.values()).size).toBeGreaterThan(1);
    expect(Object.fromEntries(byKcat)).toEqual(Object.fromEntries(byKafkajs));
  });
});
