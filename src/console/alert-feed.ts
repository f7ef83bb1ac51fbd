/**
 * Follows the alerts topic and the status topic into the alert index (and the report topics into
 * the report catalogue), and tells listeners (the live inbox's event streams) what changed. Each console instance reads both topics whole, in a
 * consumer group of its own that commits nothing: the index lives in memory and is rebuilt from
 * the topics at every start, so any number of instances can run side by side.
 */
import { randomUUID } from 'node:crypto';
import type { Consumer, Kafka } from 'kafkajs';
import type { Decoder } from '../codec/decode.ts';
import type { ReportKind } from '../domain/events.ts';
import { groupTiming } from '../kafka/group-timing.ts';
import type { Logger } from '../ops/logger.ts';
import type { AlertIndex, AlertRow, PublishedAlert } from './alert-index.ts';
import type { ReportCatalogue } from './report-catalogue.ts';
import { decodeStatusRecord, reconcileStatus } from './status-log.ts';

export type FeedEvent = { type: 'alert'; change: 'new' | 'revised'; row: AlertRow } | { type: 'status'; row: AlertRow };

export interface AlertFeed {
  start(): Promise<void>;
  subscribe(listener: (event: FeedEvent) => void): () => void;
  /** Tell listeners about a change this instance made itself, before it comes back from Kafka. */
  announce(event: FeedEvent): void;
  stop(): Promise<void>;
}

export interface AlertFeedDeps {
  kafka: Kafka;
  groupIdPrefix: string;
  alertsTopic: string;
  statusTopic: string;
  /** Report topic → its kind: read so the alert page can show the reports behind each alert. */
  reportTopics: ReadonlyMap<string, ReportKind>;
  decoder: Decoder;
  index: AlertIndex;
  reports: ReportCatalogue;
  logger: Logger;
  sessionTimeoutMs?: number;
  onFatal?: (err: unknown) => void;
}

export function createAlertFeed(deps: AlertFeedDeps): AlertFeed {
  const listeners = new Set<(event: FeedEvent) => void>();
  let consumer: Consumer | undefined;

  const announce = (event: FeedEvent) => {
    for (const listener of listeners) listener(event);
  };

  async function onAlerts(values: (Buffer | null)[], where: { topic: string; partition: number; offsets: string[] }): Promise<void> {
    const decoded = await deps.decoder.decodeBatch(values, (value) => deps.decoder.decodeAlert(value));
    decoded.forEach((outcome, i) => {
      if (!outcome.ok) {
        // The console only reads this topic; the detector owns it, so a bad record is reported, not moved.
        deps.logger.warn({ topic: where.topic, partition: where.partition, offset: where.offsets[i], reason: outcome.error.message }, 'skipping an unreadable alert');
        return;
      }
      const alert = outcome.value as PublishedAlert;
      deps.reports.pin(alert.subjectEventIds);
      const change = deps.index.addAlert(alert);
      if (change === 'duplicate') return;
      const row = deps.index.row(alert.alertId);
      if (row) announce({ type: 'alert', change, row });
    });
  }

  async function onReports(kind: ReportKind, values: (Buffer | null)[]): Promise<void> {
    const decoded = await deps.decoder.decodeBatch(values, (value) => deps.decoder.decodeReport(kind, value));
    // A bad report is the detector's to dead-letter; here it simply has nothing to show.
    for (const outcome of decoded) if (outcome.ok) deps.reports.addReport(outcome.value);
  }

  function onStatuses(values: (Buffer | null)[], where: { topic: string; partition: number; offsets: string[] }): void {
    values.forEach((value, i) => {
      try {
        const incoming = decodeStatusRecord(value);
        const status = reconcileStatus(incoming, deps.index.statusOf(incoming.alertId));
        if (!status) return;
        deps.index.setStatus(status);
        const row = deps.index.row(status.alertId);
        if (row) announce({ type: 'status', row });
      } catch (err) {
        deps.logger.warn({ topic: where.topic, partition: where.partition, offset: where.offsets[i], reason: (err as Error).message }, 'skipping an unreadable status record');
      }
    });
  }

  return {
    async start() {
      consumer = deps.kafka.consumer({
        groupId: `${deps.groupIdPrefix}.${randomUUID()}`,
        allowAutoTopicCreation: false,
        maxWaitTimeInMs: 250,
        ...groupTiming(deps.sessionTimeoutMs),
      });
      consumer.on(consumer.events.CRASH, (e) => {
        deps.logger.error({ err: e.payload.error, restart: e.payload.restart }, 'console feed crashed');
        if (!e.payload.restart) deps.onFatal?.(e.payload.error);
      });
      await consumer.connect();
      await consumer.subscribe({ topics: [deps.alertsTopic, deps.statusTopic, ...deps.reportTopics.keys()], fromBeginning: true });
      await consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          const values = batch.messages.map((m) => m.value);
          const where = { topic: batch.topic, partition: batch.partition, offsets: batch.messages.map((m) => m.offset) };
          const reportKind = deps.reportTopics.get(batch.topic);
          if (reportKind) await onReports(reportKind, values);
          else if (batch.topic === deps.alertsTopic) await onAlerts(values, where);
          else onStatuses(values, where);
        },
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    announce,
    async stop() {
      listeners.clear();
      await consumer?.disconnect();
    },
  };
}
