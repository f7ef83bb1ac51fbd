/**
 * Reads the compacted production-quotas topic (ree.quotas.v1, keyed by quotaId) into the shared
 * quota register, so every detector instance sees every producer's quotas whichever partitions it
 * owns; a tombstone withdraws the quota. Like licences and the watchlist, quotas are loaded before
 * reports are consumed, so the year's first production is judged against them.
 */
import type { Decoder } from '../codec/decode.ts';
import type { ProductionQuota } from '../domain/events.ts';
import { InvalidRecordError } from '../errors.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import type { DeadLetter, DeadLetterSink } from '../producers/dead-letter-sink.ts';
import type { QuotaRegister } from '../state/quota-register.ts';
import { createCompactedTopicConsumer, type CompactedTopicConsumer, type CompactedTopicConsumerDeps } from './compacted-topic-consumer.ts';

export interface QuotaConsumerDeps extends CompactedTopicConsumerDeps {
  decoder: Decoder;
  quotas: QuotaRegister;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
}

export type QuotaConsumer = CompactedTopicConsumer;

export function createQuotaConsumer(deps: QuotaConsumerDeps): QuotaConsumer {
  return createCompactedTopicConsumer(deps, 'quota', async (batch) => {
    const onRetry = (err: unknown, attempt: number) => deps.logger.warn({ err, attempt, topic: batch.topic, partition: batch.partition }, 'retrying quota batch step');
    const dead: DeadLetter[] = [];
    const decoded = await retry(() => deps.decoder.decodeBatch(batch.messages.map((m) => m.value), (value) => deps.decoder.decodeQuota(value)), { onRetry });
    /** quotaId → what the batch leaves it as (null: withdrawn); a put replaces, so only the last record counts. */
    const latest = new Map<string, ProductionQuota | null>();
    batch.messages.forEach((m, i) => {
      const outcome = decoded[i]!;
      const key = m.key?.toString('utf8');
      const deadLetter = (error: InvalidRecordError) =>
        dead.push({ key: m.key, value: m.value, headers: m.headers, error, topic: batch.topic, partition: batch.partition, offset: m.offset });
      if (!outcome.ok) deadLetter(outcome.error);
      else if (outcome.value === null) {
        if (key) latest.set(key, null);
        else deadLetter(new InvalidRecordError('REE_ERR_VALIDATION', 'key: a tombstone needs the quotaId it withdraws as its key'));
      } else if (key && key !== outcome.value.quotaId) {
        deadLetter(new InvalidRecordError('REE_ERR_VALIDATION', `record key "${key}" is not the quotaId "${outcome.value.quotaId}"`));
      } else latest.set(outcome.value.quotaId, outcome.value);
    });
    // Quotas are independent of each other, so they are all written at once.
    await Promise.all(
      [...latest].map(([quotaId, quota]) => retry(() => (quota === null ? deps.quotas.deleteQuota(quotaId) : deps.quotas.putQuota(quota)), { onRetry })),
    );
    await retry(() => deps.deadLetters.send(dead), { onRetry });
    deps.metrics?.events.inc({ topic: batch.topic }, batch.messages.length);
    for (const d of dead) deps.metrics?.deadLetters.inc({ topic: batch.topic, code: d.error.code });
  });
}
