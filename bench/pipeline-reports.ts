/**
 * The reports bench:pipeline sends: report `i` of a feed of `producers` producers, one hour of
 * report time per round of producers. Its id depends on `i` only, so the process that offers the
 * paced stream and the one that started the bench name the same report alike.
 */
import type { TopicNames } from '../src/config/topics.ts';
import type { ProductionReport, ShipmentReport } from '../src/domain/events.ts';

const T0 = Date.UTC(2025, 5, 2);

export function benchReport(i: number, topics: TopicNames, producers: number): { topic: string; key: string; value: ProductionReport | ShipmentReport } {
  const producerId = `P-${String(i % producers).padStart(6, '0')}`;
  const occurredAt = T0 + Math.floor(i / producers) * 3_600_000;
  const reportId = `b-${i + 1}`;
  // Mostly production and covered domestic shipments (clean), one in 50 an unlicensed export (an alert).
  // Production is magnet-scrap recycling: output from no declared input is what yield-anomaly flags at
  // the MAGNET stage, and every report would then be an alert.
  if (i % 2 === 0) {
    return { topic: topics.production, key: producerId, value: { reportId, producerId, facilityId: null, stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 100, inputs: [], occurredAt, reportedAt: occurredAt + 60_000 } };
  }
  const unlicensed = i % 50 === 1;
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
      reportedAt: occurredAt + 60_000,
    },
  };
}

/** Whether report `i` raises an alert (unlicensed-client), the one the latency is measured by. */
export const raisesAlert = (i: number): boolean => i % 50 === 1;
