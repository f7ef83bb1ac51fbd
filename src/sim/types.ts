/** What the simulator hands out: recording lines and labels in the formats of DESIGN.md. */
import type { InventoryReport, Licence, ProductionQuota, ProductionReport, ReceiptReport, ShipmentReport, WatchlistEntry } from '../domain/events.ts';
import type { RuleId } from '../rules/rule.ts';

export type SimEvent = ProductionReport | ShipmentReport | ReceiptReport | InventoryReport | Licence | WatchlistEntry | ProductionQuota;

/** One Kafka record of a recording: the event as JSON, times in epoch ms. */
export interface RecordingLine {
  topic: string;
  key: string;
  /** The record timestamp: reportedAt for reports; issuedAt, or the status change, for licences; listedAt for watchlist entries; issuedAt for quotas. */
  timestamp: number;
  value: SimEvent;
}

/** An injected anomaly: an alert detects it when the ruleIds match and the subjectEventIds meet. */
export interface Label {
  anomalyId: string;
  ruleId: RuleId;
  producerId: string;
  subjectEventIds: string[];
  clientId?: string;
  licenceId?: string;
}

export interface SimStats {
  seed: number;
  producers: number;
  days: number;
  start: string;
  end: string;
  producersByStage: Record<string, number>;
  clients: number;
  licences: number;
  /** All recording lines, and per topic. */
  records: number;
  byTopic: Record<string, number>;
  labels: number;
  labelsByRule: Record<string, number>;
  /** Per rule and way of breaking it, e.g. `unlicensed-client/expired`. */
  labelsByVariant: Record<string, number>;
  /** Injection attempts that found no fitting candidate (the anomaly budget is a rate, not a promise). */
  injectionsFailed: number;
  /** Exported tonnes per material over the whole run. */
  exportedTonnes: Record<string, number>;
  /** Magnet exports scaled to a 30-day month, to hold against the national 1,200-6,100 t. */
  magnetExportTonnesPer30Days: number;
}

export interface SimResult {
  records: RecordingLine[];
  labels: Label[];
  stats: SimStats;
}
