/**
 * Topic provisioning. The broker runs with auto-creation off, so whoever starts first (the local
 * stack's `up`, the detector's `run`, a test) creates the topics it needs, and creating them must
 * be safe to repeat and to race: existing topics are left exactly as they are.
 */
import type { Admin } from 'kafkajs';
import type { TopicSpec } from '../config/topics.ts';
import { retry } from '../ops/retry.ts';

/**
 * A created topic is usable once every partition answers an offsets request: until then callers
 * get NOT_LEADER errors that kafkajs's admin does not retry on its own.
 */
async function waitUntilServing(admin: Admin, topics: string[]): Promise<void> {
  for (const topic of topics) await retry(() => admin.fetchTopicOffsets(topic), { retries: 10, minDelayMs: 100, maxDelayMs: 2_000 });
}

export interface EnsureTopicsResult {
  /** Topics this call created. */
  created: string[];
  /** Topics that were already there (possibly created concurrently by someone else). */
  existing: string[];
}

export async function ensureTopics(admin: Admin, specs: readonly TopicSpec[]): Promise<EnsureTopicsResult> {
  const wanted = new Map(specs.map((spec) => [spec.topic, spec]));
  const present = new Set(await admin.listTopics());
  const missing = [...wanted.values()].filter((spec) => !present.has(spec.topic));
  const existing = [...wanted.keys()].filter((topic) => present.has(topic));
  if (missing.length === 0) return { created: [], existing };

  try {
    await admin.createTopics({
      // Callers produce right after this; without leaders their first sends would fail.
      waitForLeaders: true,
      topics: missing.map((spec) => ({
        topic: spec.topic,
        numPartitions: spec.numPartitions,
        replicationFactor: spec.replicationFactor,
        configEntries: spec.configEntries.map((entry) => ({ ...entry })),
      })),
    });
  } catch (error) {
    // Another process may have created some of them between our list and our create; kafkajs
    // then reports the whole batch as failed. Only a topic that is still missing is a real error.
    // kafkajs also fails the call when its wait for leaders trips over metadata that has not caught
    // up yet (e.g. while the broker is busy deleting other topics), so give the metadata a moment.
    let stillMissing: string[] = [];
    for (let attempt = 0; attempt < 30; attempt += 1) {
      const nowPresent = new Set(await admin.listTopics());
      stillMissing = missing.filter((spec) => !nowPresent.has(spec.topic)).map((spec) => spec.topic);
      if (stillMissing.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    if (stillMissing.length > 0) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(`could not create topics ${stillMissing.join(', ')}: ${reason}`, { cause: error });
    }
    await waitUntilServing(admin, missing.map((spec) => spec.topic));
    return { created: [], existing: [...wanted.keys()] };
  }
  await waitUntilServing(admin, missing.map((spec) => spec.topic));
  return { created: missing.map((spec) => spec.topic), existing };
}
