/**
 * The event contracts of DESIGN.md as zod schemas. They are the single source for TypeScript
 * types and for validation of every decoded record, Avro or JSON alike.
 */
import { z } from 'zod';
import { DAY_MS, iso } from './time.ts';

/** Upper bound on a single report's quantity: 10,000 t. Anything larger is a typo or an attack. */
export const MAX_QUANTITY_KG = 10_000_000;

/** Epoch ms, or an ISO-8601 string in JSON input; always epoch ms after parsing. */
export const eventTime = z.union([
  z.number().int().min(0).max(8_640_000_000_000_000),
  z
    .string()
    .refine((s) => /^\d{4}-\d{2}-\d{2}T/.test(s) && !Number.isNaN(Date.parse(s)), {
      message: 'expected epoch milliseconds or an ISO-8601 date-time',
    })
    .transform((s) => Date.parse(s)),
]);

/**
 * The era a report or licence time must fall in. A typo such as 2205 for 2025 would otherwise move
 * a producer's clock for good and fire every pending check before its grace period.
 */
export const EARLIEST_EVENT_TIME = Date.UTC(2000, 0, 1);
export const LATEST_EVENT_TIME = Date.UTC(2100, 0, 1);
/** How far a sender's clock may run ahead: occurredAt may exceed reportedAt by at most this. */
export const MAX_CLOCK_SKEW_MS = DAY_MS;

const ERA = `${iso(EARLIEST_EVENT_TIME).slice(0, 10)} .. ${iso(LATEST_EVENT_TIME).slice(0, 10)}`;

/**
 * A time as messages show it. The object-level checks below run even when a field already failed
 * its own check, so they can see any number: past Date's range (±8.64e15 ms) toISOString throws
 * a RangeError, which would escape validation as a crash instead of a dead letter.
 */
const shown = (ms: number): string => (Math.abs(ms) <= 8.64e15 ? iso(ms) : String(ms));

function requireEra(ctx: z.RefinementCtx, value: number, field: string): void {
  if (value >= EARLIEST_EVENT_TIME && value <= LATEST_EVENT_TIME) return;
  ctx.addIssue({ code: 'custom', path: [field], message: `${shown(value)} is outside ${ERA}` });
}

/**
 * Object-level rather than on the fields: the fields stay `eventTime` itself, which the Avro parity
 * test recognises, and the skew rule needs both times anyway.
 */
function saneReportTimes(report: { occurredAt: number; reportedAt: number }, ctx: z.RefinementCtx): void {
  requireEra(ctx, report.reportedAt, 'reportedAt');
  // Reports describe the past; reportedAt is the sender's own clock, so only a small skew is allowed.
  if (report.occurredAt > report.reportedAt + MAX_CLOCK_SKEW_MS) {
    ctx.addIssue({
      code: 'custom',
      path: ['occurredAt'],
      message: `after reportedAt by more than a day of clock skew (${shown(report.occurredAt)} > ${shown(report.reportedAt)})`,
    });
  } else {
    requireEra(ctx, report.occurredAt, 'occurredAt');
  }
}

/** Ids end up inside Redis keys and alert ids; refuse what would break a key at the edge. */
export const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[A-Za-z0-9._:\-]+$/, 'ids may contain only letters, digits and . _ : -');

const quantityKg = z.number().positive().max(MAX_QUANTITY_KG);
const material = z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/, 'material codes are UPPER_SNAKE_CASE');
const country = z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 alpha-2 country code');

export const STAGES = ['MINING', 'SEPARATION', 'METAL', 'ALLOY', 'MAGNET', 'RECYCLING'] as const;
export const DIRECTIONS = ['DOMESTIC', 'EXPORT'] as const;
export const TRANSPORT_MODES = ['SEA', 'AIR', 'ROAD', 'RAIL', 'POST', 'COURIER'] as const;
export const LICENCE_STATUSES = ['ACTIVE', 'SUSPENDED', 'REVOKED'] as const;
export const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

export const productionReport = z.object({
  reportId: id,
  producerId: id,
  facilityId: id.nullish(),
  stage: z.enum(STAGES),
  material,
  quantityKg,
  inputs: z.array(z.object({ material, quantityKg })).max(50),
  occurredAt: eventTime,
  reportedAt: eventTime,
}).superRefine(saneReportTimes);

export const shipmentReport = z.object({
  reportId: id,
  shipmentId: id,
  producerId: id,
  clientId: id,
  clientName: z.string().min(1).max(300),
  clientCountry: country,
  destinationCountry: country,
  direction: z.enum(DIRECTIONS),
  material,
  quantityKg,
  hsCode: z.string().regex(/^\d{6,10}$/, 'expected a 6- to 10-digit HS code'),
  declaredValueUsd: z.number().min(0).max(1e12),
  licenceId: id.nullish(),
  transportMode: z.enum(TRANSPORT_MODES),
  occurredAt: eventTime,
  reportedAt: eventTime,
}).superRefine(saneReportTimes);

export const receiptReport = z.object({
  reportId: id,
  producerId: id,
  supplierId: id,
  shipmentId: id,
  material,
  quantityKg,
  occurredAt: eventTime,
  reportedAt: eventTime,
}).superRefine(saneReportTimes);

export const inventoryReport = z.object({
  reportId: id,
  producerId: id,
  material,
  onHandKg: z.number().min(0).max(MAX_QUANTITY_KG * 100),
  occurredAt: eventTime,
  reportedAt: eventTime,
}).superRefine(saneReportTimes);

export const licence = z
  .object({
    licenceId: id,
    exporterId: id,
    clientId: id,
    clientName: z.string().min(1).max(300),
    endUserCountry: country,
    materials: z.array(material).min(1).max(50),
    quotaKg: z.number().positive().max(MAX_QUANTITY_KG * 100),
    validFrom: eventTime,
    validTo: eventTime,
    status: z.enum(LICENCE_STATUSES),
    issuedAt: eventTime,
    /** When this version (e.g. a suspension) took effect; absent: issuedAt. See licence-versions.ts. */
    effectiveAt: eventTime.nullish(),
  })
  .refine((l) => l.validTo >= l.validFrom, { message: 'validTo is before validFrom', path: ['validTo'] })
  .superRefine((l, ctx) => {
    for (const field of ['validFrom', 'validTo', 'issuedAt'] as const) requireEra(ctx, l[field], field);
    if (l.effectiveAt !== null && l.effectiveAt !== undefined) requireEra(ctx, l.effectiveAt, 'effectiveAt');
  });

export const watchlistEntry = z.object({
  entryId: id,
  name: z.string().min(1).max(300),
  aliases: z.array(z.string().min(1).max(300)).max(100),
  country: country.nullish(),
  reason: z.string().max(2000),
  listedAt: eventTime,
});

export const productionQuota = z
  .object({
    quotaId: id,
    producerId: id,
    year: z.number().int().min(2000).max(2100),
    materials: z.array(material).min(1).max(50),
    quotaKg: z.number().positive().max(MAX_QUANTITY_KG * 1000),
    issuedAt: eventTime,
  })
  .superRefine((q, ctx) => requireEra(ctx, q.issuedAt, 'issuedAt'));

export type ProductionReport = z.output<typeof productionReport>;
export type ShipmentReport = z.output<typeof shipmentReport>;
export type ReceiptReport = z.output<typeof receiptReport>;
export type InventoryReport = z.output<typeof inventoryReport>;
export type Licence = z.output<typeof licence>;
export type WatchlistEntry = z.output<typeof watchlistEntry>;
export type ProductionQuota = z.output<typeof productionQuota>;
export type Severity = (typeof SEVERITIES)[number];

/** A report as the pipeline sees it: the payload tagged with the topic kind it came from. */
export type Report =
  | { kind: 'production'; event: ProductionReport }
  | { kind: 'shipments'; event: ShipmentReport }
  | { kind: 'receipts'; event: ReceiptReport }
  | { kind: 'inventory'; event: InventoryReport };

export type ReportKind = Report['kind'];

export const REPORT_SCHEMAS = {
  production: productionReport,
  shipments: shipmentReport,
  receipts: receiptReport,
  inventory: inventoryReport,
} as const;

export interface Alert {
  alertId: string;
  ruleId: string;
  ruleVersion: number;
  severity: Severity;
  score: number;
  producerId: string;
  clientId?: string | null;
  licenceId?: string | null;
  subjectEventIds: string[];
  summary: string;
  evidence: Record<string, string>;
  eventTime: number;
  detectedAt: number;
  windowStart?: number | null;
  windowEnd?: number | null;
  /** 1 for a finding's first version, higher for each update of it (same alertId); absent means 1. */
  revision?: number | null;
}
