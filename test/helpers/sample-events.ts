/**
 * One valid event of every kind, in the shape the zod schemas output (epoch-ms times, optional
 * fields present), with every optional field filled so round-trips exercise them.
 */
import type {
  ProductionQuota,
  Alert,
  InventoryReport,
  Licence,
  ProductionReport,
  ReceiptReport,
  ShipmentReport,
  WatchlistEntry,
} from '../../src/domain/events.ts';
import type { SchemaKind } from '../../src/codec/schemas.ts';

const T0 = Date.UTC(2025, 0, 12, 9, 30);

export const sampleProduction: ProductionReport = {
  reportId: 'PR-1',
  producerId: 'P1',
  facilityId: 'F1',
  stage: 'SEPARATION',
  material: 'NDPR_OXIDE',
  quantityKg: 120.5,
  inputs: [{ material: 'REE_CONCENTRATE', quantityKg: 800 }],
  occurredAt: T0,
  reportedAt: T0 + 60_000,
};

export const sampleShipment: ShipmentReport = {
  reportId: 'SH-1',
  shipmentId: 'S-1',
  producerId: 'P1',
  clientId: 'C1',
  clientName: 'Client One GmbH',
  clientCountry: 'DE',
  destinationCountry: 'DE',
  direction: 'EXPORT',
  material: 'NDFEB_DY_MAGNET',
  quantityKg: 250,
  hsCode: '850511',
  declaredValueUsd: 31_250.75,
  licenceId: 'LIC-1',
  transportMode: 'SEA',
  occurredAt: T0,
  reportedAt: T0 + 3_600_000,
};

export const sampleReceipt: ReceiptReport = {
  reportId: 'RC-1',
  producerId: 'P2',
  supplierId: 'P1',
  shipmentId: 'S-2',
  material: 'NDPR_OXIDE',
  quantityKg: 40,
  occurredAt: T0,
  reportedAt: T0,
};

export const sampleInventory: InventoryReport = {
  reportId: 'INV-1',
  producerId: 'P1',
  material: 'DY_OXIDE',
  onHandKg: 0,
  occurredAt: T0,
  reportedAt: T0,
};

export const sampleLicence: Licence = {
  licenceId: 'LIC-1',
  exporterId: 'P1',
  clientId: 'C1',
  clientName: 'Client One GmbH',
  endUserCountry: 'DE',
  materials: ['NDFEB_DY_MAGNET', 'DY_OXIDE'],
  quotaKg: 1000,
  validFrom: T0 - 30 * 86_400_000,
  validTo: T0 + 300 * 86_400_000,
  status: 'ACTIVE',
  issuedAt: T0 - 31 * 86_400_000,
  effectiveAt: T0 - 31 * 86_400_000,
};

export const sampleWatchlistEntry: WatchlistEntry = {
  entryId: 'W-1',
  name: 'Restricted Metals Trading Co',
  aliases: ['RMT Co', 'Restrikted Metals'],
  country: 'HK',
  reason: 'export-control list',
  listedAt: T0 - 86_400_000,
};

export const sampleQuota: ProductionQuota = {
  quotaId: 'Q-2025-P7',
  producerId: 'P7',
  year: 2025,
  materials: ['REE_CONCENTRATE'],
  quotaKg: 1_200_000,
  issuedAt: T0 - 90 * 86_400_000,
};

// Required<> makes the compiler insist every Alert field is here, optional ones included.
export const sampleAlert: Required<Alert> = {
  alertId: 'unlicensed-client:P1:SH-1',
  ruleId: 'unlicensed-client',
  ruleVersion: 1,
  severity: 'HIGH',
  score: 0.87,
  producerId: 'P1',
  clientId: 'C1',
  licenceId: 'LIC-1',
  subjectEventIds: ['SH-1'],
  summary: 'Export of controlled material without a fitting licence.',
  evidence: { quantityKg: '250', material: 'NDFEB_DY_MAGNET' },
  eventTime: T0,
  detectedAt: T0 + 5_000,
  windowStart: T0 - 86_400_000,
  windowEnd: T0,
  revision: 1,
};

export const SAMPLES: Record<SchemaKind, object> = {
  production: sampleProduction,
  shipments: sampleShipment,
  receipts: sampleReceipt,
  inventory: sampleInventory,
  licences: sampleLicence,
  watchlist: sampleWatchlistEntry,
  quotas: sampleQuota,
  alerts: sampleAlert,
};
