/**
 * Valid events, reports and rule inputs for tests, each with overrides. Defaults fit together:
 * the default shipment is P1's export of NDFEB_DY_MAGNET to C1 under LIC-1, and the default
 * licence is exactly that licence, active and in force on day D0. A test states only what it is about.
 *
 * Report ids come from one counter, so two calls never collide; build a list once and feed the same
 * objects wherever a test needs the same reports twice (replays, determinism).
 */
import materials from '../../config/materials.json' with { type: 'json' };
import type { z } from 'zod';
import type {
  InventoryReport,
  Licence,
  ProductionReport,
  ReceiptReport,
  Report,
  ShipmentReport,
} from '../../src/domain/events.ts';
import { createCatalogue, type Catalogue, type CatalogueReference, type MaterialEntry } from '../../src/domain/catalogue.ts';
import { DAY_MS, HOUR_MS } from '../../src/domain/time.ts';
import type { ParamsFor, RuleInput } from '../../src/rules/rule.ts';
import { ProducerState } from '../../src/state/engine/producer-state.ts';
import { ruleStateOf } from '../../src/state/rule-state.ts';
import type { ApplyResult, FiredCheck, FlowTotals } from '../../src/state/store.ts';

/** A day number (2025-01-12 UTC); any day far from the epoch will do. */
export const D0 = 20_100;
/** Epoch ms of `hour` o'clock UTC on `day`. */
export const at = (day: number, hour = 12): number => day * DAY_MS + hour * HOUR_MS;

let seq = 0;
/** A fresh id with a readable prefix, e.g. `ship-17`. */
export const nextId = (prefix: string): string => `${prefix}-${(seq += 1)}`;

// The shipped catalogue, read as a module so builders stay free of file I/O and agree with it.
const CATALOGUE_ENTRIES = (materials as { materials: MaterialEntry[] }).materials;
/** The default material catalogue as a Catalogue, without reading a file. */
export const testCatalogue = (): Catalogue => createCatalogue(CATALOGUE_ENTRIES, materials as CatalogueReference);
const entryOf = (code: string): MaterialEntry | undefined => CATALOGUE_ENTRIES.find((m) => m.code === code);

/** Reported an hour after it happened unless a test says otherwise: reports are never early. */
const reportedAfter = (occurredAt: number): number => occurredAt + HOUR_MS;

export function production(o: Partial<ProductionReport> = {}): ProductionReport {
  const occurredAt = o.occurredAt ?? at(D0);
  return {
    reportId: nextId('prod'),
    producerId: 'P1',
    facilityId: null,
    stage: 'MAGNET',
    material: 'NDFEB_DY_MAGNET',
    quantityKg: 1000,
    inputs: [],
    occurredAt,
    reportedAt: reportedAfter(occurredAt),
    ...o,
  };
}

export function shipment(o: Partial<ShipmentReport> = {}): ShipmentReport {
  const occurredAt = o.occurredAt ?? at(D0);
  const material = o.material ?? 'NDFEB_DY_MAGNET';
  const quantityKg = o.quantityKg ?? 100;
  const entry = entryOf(material);
  return {
    reportId: nextId('ship'),
    shipmentId: nextId('SHP'),
    producerId: 'P1',
    clientId: 'C1',
    clientName: 'Client One GmbH',
    clientCountry: 'DE',
    destinationCountry: 'DE',
    direction: 'EXPORT',
    material,
    quantityKg,
    // Priced and coded as the catalogue has it, so only tests about value or HS codes see an oddity.
    hsCode: entry?.hsCodes[0] ?? '8505111000',
    declaredValueUsd: Math.round(quantityKg * (entry?.referenceUsdPerKg ?? 50)),
    licenceId: 'LIC-1',
    transportMode: 'SEA',
    occurredAt,
    reportedAt: reportedAfter(occurredAt),
    ...o,
  };
}

export function receipt(o: Partial<ReceiptReport> = {}): ReceiptReport {
  const occurredAt = o.occurredAt ?? at(D0 + 1);
  return {
    reportId: nextId('rcpt'),
    producerId: 'P2',
    supplierId: 'P1',
    shipmentId: nextId('SHP'),
    material: 'NDFEB_DY_MAGNET',
    quantityKg: 100,
    occurredAt,
    reportedAt: reportedAfter(occurredAt),
    ...o,
  };
}

export function inventory(o: Partial<InventoryReport> = {}): InventoryReport {
  const occurredAt = o.occurredAt ?? at(D0);
  return {
    reportId: nextId('inv'),
    producerId: 'P1',
    material: 'NDFEB_DY_MAGNET',
    onHandKg: 1000,
    occurredAt,
    reportedAt: reportedAfter(occurredAt),
    ...o,
  };
}

export function licence(o: Partial<Licence> = {}): Licence {
  return {
    licenceId: 'LIC-1',
    exporterId: 'P1',
    clientId: 'C1',
    clientName: 'Client One GmbH',
    endUserCountry: 'DE',
    materials: ['NDFEB_DY_MAGNET'],
    quotaKg: 10_000,
    validFrom: at(D0 - 30, 0),
    validTo: at(D0 + 335, 0),
    status: 'ACTIVE',
    issuedAt: at(D0 - 31, 0),
    ...o,
  };
}

/** The same builders wrapped as the pipeline sees them, `{ kind, event }`. */
export const reports = {
  production: (o: Partial<ProductionReport> = {}): Report => ({ kind: 'production', event: production(o) }),
  shipments: (o: Partial<ShipmentReport> = {}): Report => ({ kind: 'shipments', event: shipment(o) }),
  receipts: (o: Partial<ReceiptReport> = {}): Report => ({ kind: 'receipts', event: receipt(o) }),
  inventory: (o: Partial<InventoryReport> = {}): Report => ({ kind: 'inventory', event: inventory(o) }),
};

// ---- rule inputs: what the state store hands a rule, built directly so rule tests need no store ----

export const totals = (o: Partial<FlowTotals> = {}): FlowTotals => ({
  produced: 0,
  received: 0,
  consumed: 0,
  shipped: 0,
  exported: 0,
  ...o,
});

/**
 * A fired balance check. Give it flows and an opening; the book balance is worked out the way the
 * store does (to the gram) unless `bookKg` is given.
 */
export function firedCheck(o: Partial<Omit<FiredCheck, 'totals'>> & { totals?: Partial<FlowTotals> } = {}): FiredCheck {
  const t = totals(o.totals);
  const opening = o.opening === undefined ? null : o.opening;
  const book = (opening?.kg ?? 0) + t.produced + t.received - t.consumed - t.shipped;
  return {
    kind: 'deficit',
    material: 'DY_OXIDE',
    day: D0,
    subjectIds: ['ship-x'],
    ...o,
    opening,
    totals: t,
    bookKg: o.bookKg ?? Math.round(book * 1000) / 1000,
  };
}

export function applyResult(o: Partial<ApplyResult> = {}): ApplyResult {
  return { reportId: 'r-1', duplicate: false, watermark: at(D0), checks: [], ...o };
}

export function ruleInput(report: Report, o: Partial<Omit<RuleInput, 'report'>> = {}): RuleInput {
  return {
    ...o,
    report,
    result: o.result ?? applyResult({ reportId: report.event.reportId, watermark: report.event.occurredAt }),
    licence: o.licence ?? null,
    catalogue: o.catalogue ?? testCatalogue(),
    // A fresh producer state per input unless a test threads its own through (stateful rules).
    state: o.state ?? ruleStateOf(new ProducerState(report.event.producerId), 'test-rule'),
    watermark: o.watermark ?? -Infinity,
  };
}

/**
 * A rule's parameters as the rules file would resolve them: `base` for every material, `byMaterial`
 * on top for the materials it names. Parsed by the rule's own schema, so defaults apply.
 */
export function paramsFrom<S extends z.ZodType>(
  schema: S,
  base: Record<string, unknown> = {},
  byMaterial: Record<string, Record<string, unknown>> = {},
): ParamsFor<z.output<S>> {
  return (material) => schema.parse({ ...base, ...(material ? byMaterial[material] : undefined) });
}
