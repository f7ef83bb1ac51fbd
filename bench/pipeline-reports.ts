/**
 * The reports bench:pipeline offers, shared by the bench and its paced client (paced-client.ts):
 * report i is the same in both processes, so its id says which it is.
 */
import type { ProductionReport, ShipmentReport } from '../src/domain/events.ts';
import type { TopicNames } from '../src/config/topics.ts';

const T0 = Date.UTC(2025, 5, 2);

/** Report i's time: one report per producer an hour from T0, filed a minute later. */
const occurredAtOf = (producers: number, i: number): number => T0 + Math.floor(i / producers) * 3_600_000;
const REPORTED_AFTER_MS = 60_000;

/**
 * When the last of `count` reports for `producers` producers is reported. The detector
 * dead-letters a report reported more than a day after it reads it, so a run whose reports reach
 * past now would measure dead letters, not the detector.
 */
export const lastReportedAt = (producers: number, count: number): number => occurredAtOf(producers, count - 1) + REPORTED_AFTER_MS;

/** Report id of report i (1-based, as the bench's sequence numbered them). */
export const reportIdOf = (i: number): string => `b-${i + 1}`;

/** Whether report i is an unlicensed export: one in 50, each an alert. */
export const isAlerting = (i: number): boolean => i % 50 === 1;

export function benchReport(topics: TopicNames, producers: number, i: number): { topic: string; key: string; value: ProductionReport | ShipmentReport } {
  const producerId = `P-${String(i % producers).padStart(6, '0')}`;
  const occurredAt = occurredAtOf(producers, i);
  const reportId = reportIdOf(i);
  // Mostly production and covered domestic shipments (clean), one in 50 an unlicensed export (an alert).
  // Production is magnet-scrap recycling: output from no declared input is what yield-anomaly flags at
  // the MAGNET stage, and every report would then be an alert.
  if (i % 2 === 0) {
    return { topic: topics.production, key: producerId, value: { reportId, producerId, facilityId: null, stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 100, inputs: [], occurredAt, reportedAt: occurredAt + REPORTED_AFTER_MS } };
  }
  const unlicensed = isAlerting(i);
  return {
    topic: topics.shipments,
    key: producerId,
    value: {
      reportId,
      shipmentId: `S-${i + 1}`,
      producerId,
      clientId: unlicensed ? 'C-FOREIGN' : 'P-000000',
      clientName: unlicensed ? 'Foreign Buyer Ltd' : 'Domestic Buyer',
      clientCountry: unlicensed ? 'IN' : 'CN',
      destinationCountry: unlicensed ? 'IN' : 'CN',
      direction: unlicensed ? 'EXPORT' : 'DOMESTIC',
      material: unlicensed ? 'NDFEB_DY_MAGNET' : 'NDFEB_MAGNET',
      quantityKg: 10,
      hsCode: unlicensed ? '8505111000' : '8505119000',
      declaredValueUsd: 500,
      licenceId: null,
      transportMode: 'SEA',
      occurredAt,
      reportedAt: occurredAt + REPORTED_AFTER_MS,
    },
  };
}

/** Reports from..to-1 as one produce request's topic messages. */
export function topicMessagesOf(topics: TopicNames, producers: number, from: number, to: number): { topic: string; messages: { key: string; value: string }[] }[] {
  const byTopic = new Map<string, { key: string; value: string }[]>();
  for (let i = from; i < to; i += 1) {
    const r = benchReport(topics, producers, i);
    const list = byTopic.get(r.topic) ?? [];
    list.push({ key: r.key, value: JSON.stringify(r.value) });
    byTopic.set(r.topic, list);
  }
  return [...byTopic].map(([topic, messages]) => ({ topic, messages }));
}
