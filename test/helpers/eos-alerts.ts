/**
 * What the exactly-once tests compare (exactly-once.test.ts, watchlist-exactly-once.test.ts): the
 * alerts a read_committed reader of the alerts topic sees, and the alerts an embedded replay of the
 * same topics raises.
 */
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { recordTopics } from '../../src/cli/record.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert } from '../../src/domain/events.ts';
import { revisionOf } from '../../src/pipeline/outbox.ts';
import { readRecording } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, brokerList, uniqueName, waitUntil } from './stack-env.ts';

/** Every alert record a read_committed consumer sees (kafkajs's default isolation), in topic order. */
export async function committedAlerts(kafka: Kafka, prefix: string): Promise<Alert[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('ree-eos-reader'), readUncommitted: false });
  const seen: Alert[] = [];
  let lastAt = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: [topicNames(prefix).alerts], fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ message }) => {
      seen.push(JSON.parse(message.value!.toString()) as Alert);
      lastAt = Date.now();
    },
  });
  // Until nothing new has come for a while (the topic is complete: every detector has stopped).
  await waitUntil(() => Date.now() - lastAt > 5_000, { timeoutMs: 60_000, intervalMs: 250, what: 'the alerts topic read to its end' });
  await consumer.disconnect();
  return seen;
}

/** The alerts an embedded replay of the same topics raises (recorded into `dir`, so each report keeps its partition). */
export async function replayedAlerts(dir: string, prefix: string): Promise<Alert[]> {
  const topics = topicNames(prefix);
  const recording = join(dir, `${prefix}.jsonl`);
  await recordTopics({ brokers: brokerList(KAFKA_BROKERS), registryUrl: SCHEMA_REGISTRY_URL, topics: [...REPORT_TOPIC_KINDS.map((k) => topics[k]), topics.licences, topics.watchlist, topics.quotas], out: recording, idleMs: 3_000 });
  const out: Alert[] = [];
  await replayLines(readRecording(recording).lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: loadCatalogue(), onAlerts: (a) => void out.push(...a) });
  return out;
}

/** An alert as its id and revision: what must appear once. */
export const alertKey = (a: Alert) => `${a.alertId}#${revisionOf(a)}`;

/** The keys that appear more than once. */
export const seenTwice = (alerts: readonly Alert[]) => alerts.map(alertKey).filter((k, i, all) => all.indexOf(k) !== i);

/** Each alert id at its highest revision, sorted by id. */
export function finalRevisions(alerts: readonly Alert[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const a of alerts) m.set(a.alertId, Math.max(m.get(a.alertId) ?? 0, revisionOf(a)));
  return new Map([...m].sort());
}
