/**
 * Reads the compacted production-quotas topic (ree.quotas.v1, keyed by quotaId) into the shared
 * quota register, so every detector instance sees every producer's quotas whichever partitions it
 * owns; a tombstone withdraws the quota. Like licences and the watchlist, quotas are loaded before
 * reports are consumed, so the year's first production is judged against them.
 */
import type { Decoder } from '../codec/decode.ts';
import type { ProductionQuota } from '../domain/events.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import { logDeadLetters, type DeadLetterSink } from '../producers/dead-letter-sink.ts';
import type { QuotaRegister } from '../state/quota-register.ts';
import { latestRecords } from './latest-records.ts';
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
    const decoded = await retry(() => deps.decoder.decodeBatch(batch.messages.map((m) => m.value), (value) => deps.decoder.decodeQuota(value)), { onRetry });
    // A put replaces the whole quota, so only the last record of each counts.
    const { latest, dead } = latestRecords<ProductionQuota>(batch, decoded, 'quotaId', (q) => q.quotaId);
    // Quotas are independent of each other, so they are all written at once.
    await Promise.all(
      [...latest].map(([quotaId, quota]) => retry(() => (quota === null ? deps.quotas.deleteQuota(quotaId) : deps.quotas.putQuota(quota)), { onRetry })),
    );
    await retry(() => deps.deadLetters.send(dead), { onRetry });
    deps.metrics?.events.inc({ topic: batch.topic }, batch.messages.length);
    for (const d of dead) deps.metrics?.deadLetters.inc({ topic: batch.topic, code: d.error.code });
    logDeadLetters(deps.logger, dead);
  });
}
