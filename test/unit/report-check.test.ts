/**
 * The fast path of report validation (report-check.ts) against zod, the reference: on a simulated
 * run's reports and on many variants of each kind (every field missing, null, of another type, at
 * and past its bounds; odd times; extra keys), whatever the fast path accepts zod accepts too, with
 * the same output (same keys in the same order, -0 kept); what it leaves to zod, zod decides. And
 * the ordinary reports a detector reads take the fast path.
 */
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { topicKindOf } from '../../src/pipeline/recording.ts';
import { EARLIEST_EVENT_TIME, LATEST_EVENT_TIME, MAX_CLOCK_SKEW_MS, MAX_QUANTITY_KG, REPORT_SCHEMAS, type ReportKind } from '../../src/domain/events.ts';
import { checkInventory, checkProduction, checkReceipt, checkShipment } from '../../src/domain/report-check.ts';
import { validateReport } from '../../src/domain/validate.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { inventory, production, receipt, shipment } from '../helpers/builders.ts';

const CHECKS: Record<ReportKind, (v: unknown) => object | undefined> = {
  production: checkProduction,
  shipments: checkShipment,
  receipts: checkReceipt,
  inventory: checkInventory,
};

/** What the fast path and zod make of one value: fast must be undefined or exactly zod's output. */
function compare(kind: ReportKind, value: unknown): { fast: boolean; valid: boolean } {
  const fast = CHECKS[kind](value);
  const zod = REPORT_SCHEMAS[kind].safeParse(value);
  if (fast !== undefined) {
    expect(zod.success, `fast path accepted what zod refuses: ${JSON.stringify(value)} (${zod.error?.message})`).toBe(true);
    expect(Object.keys(fast)).toEqual(Object.keys(zod.data!));
    expect(isDeepStrictEqual(fast, zod.data), `fast output differs for ${JSON.stringify(value)}`).toBe(true);
    expect(fast).not.toBe(value);
  }
  return { fast: fast !== undefined, valid: zod.success };
}

const T = Date.UTC(2025, 5, 1, 12);
const ODD_VALUES: unknown[] = [
  undefined, null, true, '', 'x', 'bad id!', 'a'.repeat(129), 'A'.repeat(301), 'NDPR_OXIDE', 'nd_oxide', 'DE', 'de', 'DEU', '85051110', '85051', '85051110000',
  'EXPORT', 'MAGNET', 'SEA', 'export', 0, -0, -1, 0.5, 1, 1e12, 1e12 + 1, MAX_QUANTITY_KG, MAX_QUANTITY_KG + 0.001, MAX_QUANTITY_KG * 100, MAX_QUANTITY_KG * 100 + 1,
  Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 8_640_000_000_000_001, T, T + 0.5, EARLIEST_EVENT_TIME, EARLIEST_EVENT_TIME - 1, LATEST_EVENT_TIME,
  LATEST_EVENT_TIME + 1, new Date(T).toISOString(), '2025-06-01', {}, [], [{ material: 'NDPR_OXIDE', quantityKg: 1 }], [{ material: 'NDPR_OXIDE', quantityKg: 0 }],
  [{ material: 'NDPR_OXIDE', quantityKg: 1, extra: 1 }], Array.from({ length: 51 }, () => ({ material: 'NDPR_OXIDE', quantityKg: 1 })),
  Array.from({ length: 50 }, () => ({ material: 'NDPR_OXIDE', quantityKg: 1 })), [null],
];

function bases(): [ReportKind, Record<string, unknown>][] {
  const times = { occurredAt: T, reportedAt: T + 3_600_000 };
  return [
    ['production', { ...production(times) }],
    ['production', { ...production({ ...times, facilityId: 'F-1', inputs: [{ material: 'NDPR_METAL', quantityKg: 300 }] }) }],
    ['production', { ...production({ ...times, facilityId: null }) }],
    ['shipments', { ...shipment(times) }],
    ['shipments', { ...shipment({ ...times, licenceId: null, direction: 'DOMESTIC' }) }],
    ['receipts', { ...receipt(times) }],
    ['inventory', { ...inventory(times) }],
  ];
}

describe('the fast path of report validation', () => {
  it('takes every report of a simulated run, with zod’s output', () => {
    const { records } = simulate({ seed: 5, producers: 12, days: 40 });
    let reports = 0;
    for (const record of records) {
      const kind = topicKindOf(record.topic);
      if (kind === undefined || !(kind in CHECKS)) continue;
      reports += 1;
      expect(compare(kind as ReportKind, record.value)).toEqual({ fast: true, valid: true });
    }
    expect(reports).toBeGreaterThan(1000);
  });

  it('accepts nothing zod refuses and outputs what zod outputs, over variants of every field', () => {
    let accepted = 0;
    let refused = 0;
    for (const [kind, base] of bases()) {
      expect(compare(kind, base)).toEqual({ fast: true, valid: true });
      for (const field of [...Object.keys(base), 'facilityId', 'licenceId']) {
        const without = { ...base };
        delete without[field];
        compare(kind, without);
        for (const odd of ODD_VALUES) {
          const r = compare(kind, { ...base, [field]: odd });
          if (r.fast) accepted += 1;
          if (!r.valid) refused += 1;
        }
      }
      compare(kind, { ...base, extra: 'dropped', nested: { x: 1 } });
      compare(kind, { ...base, occurredAt: base['reportedAt'] as number + MAX_CLOCK_SKEW_MS });
      compare(kind, { ...base, occurredAt: base['reportedAt'] as number + MAX_CLOCK_SKEW_MS + 1 });
      compare(kind, { ...base, occurredAt: new Date(T).toISOString(), reportedAt: new Date(T + 1).toISOString() });
      compare(kind, Object.assign(Object.create({ facilityId: 'F-9', licenceId: 'LIC-9' }) as object, base));
      for (const notAReport of [null, undefined, 'report', 42, [base], new Map()]) compare(kind, notAReport);
    }
    // The variants cover both sides: many accepted by the fast path, many refused by zod.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(500);
  });

  it('leaves invalid reports to zod, whose messages dead letters carry', () => {
    expect(() => validateReport('shipments', { ...shipment(), quantityKg: -5 })).toThrow(/invalid ShipmentReport: quantityKg: /);
    expect(() => validateReport('production', { ...production(), reportedAt: 'yesterday' })).toThrow(/invalid ProductionReport: reportedAt: /);
  });

  it('refuses a time past the range of a date as invalid, rather than crashing on its message', () => {
    for (const t of [8_640_000_000_000_001, 1e300]) {
      expect(() => validateReport('receipts', { ...receipt(), occurredAt: t })).toThrow(/invalid ReceiptReport: occurredAt: Too big/);
      expect(() => validateReport('inventory', { ...inventory(), reportedAt: t })).toThrow(`reportedAt: ${t} is outside 2000-01-01`);
    }
  });

  it('still reads ISO-8601 times, through zod', () => {
    const value = { ...receipt({ occurredAt: T, reportedAt: T }), occurredAt: new Date(T).toISOString() };
    expect(validateReport('receipts', value).event.occurredAt).toBe(T);
  });
});
