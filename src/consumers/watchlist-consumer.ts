/**
 * Reads the compacted watchlist topic into the shared state store (a tombstone deletes), and
 * screens each new or changed entry against the clients already seen, publishing what it finds
 * like the report consumer does: alerts durable first, then marked published, then the offset.
 * Like the licence register, the watchlist is loaded before reports are consumed.
 */
import type { Decoder } from '../codec/decode.ts';
import type { WatchlistEntry } from '../domain/events.ts';
import type { Metrics } from '../ops/metrics.ts';
import { retry } from '../ops/retry.ts';
import type { Pipeline } from '../pipeline/pipeline.ts';
import type { AlertSink } from '../producers/alert-sink.ts';
import type { DeadLetterSink } from '../producers/dead-letter-sink.ts';
import { latestRecords } from './latest-records.ts';
import { createCompactedTopicConsumer, type CompactedTopicConsumer, type CompactedTopicConsumerDeps } from './compacted-topic-consumer.ts';

export interface WatchlistConsumerDeps extends CompactedTopicConsumerDeps {
  decoder: Decoder;
  pipeline: Pipeline;
  alerts: AlertSink;
  deadLetters: DeadLetterSink;
  metrics?: Metrics | undefined;
}

export type WatchlistConsumer = CompactedTopicConsumer;

export function createWatchlistConsumer(deps: WatchlistConsumerDeps): WatchlistConsumer {
  return createCompactedTopicConsumer(deps, 'watchlist', async (batch) => {
    const onRetry = (err: unknown, attempt: number) => deps.logger.warn({ err, attempt, topic: batch.topic, partition: batch.partition }, 'retrying watchlist batch step');
    const decoded = await retry(() => deps.decoder.decodeBatch(batch.messages.map((m) => m.value), (value) => deps.decoder.decodeWatchlistEntry(value)), { onRetry });
    // Only the last record of each entry counts.
    const { latest, dead } = latestRecords<WatchlistEntry>(batch, decoded, 'entryId', (e) => e.entryId);
    const changes = [...latest].map(([entryId, entry]) => ({ entryId, entry }));
    const found = await deps.pipeline.gate.exclusive(async () => {
      const alerts = await retry(() => deps.pipeline.applyWatchlist(changes), { onRetry });
      await retry(() => deps.alerts.publish(alerts), { onRetry });
      await retry(() => deps.deadLetters.send(dead), { onRetry });
      await retry(() => deps.pipeline.markPublished(alerts), { onRetry });
      return alerts;
    });
    deps.metrics?.events.inc({ topic: batch.topic }, batch.messages.length);
    for (const a of found) deps.metrics?.alerts.inc({ rule: a.ruleId, severity: a.severity });
    for (const d of dead) deps.metrics?.deadLetters.inc({ topic: batch.topic, code: d.error.code });
  });
}
