import type { z } from 'zod';
import { InvalidRecordError } from '../errors.ts';
import { checkInventory, checkProduction, checkReceipt, checkShipment } from './report-check.ts';
import { REPORT_SCHEMAS, licence, productionQuota, watchlistEntry, type Report, type ReportKind } from './events.ts';

/** Turns zod's issue list into one line naming each bad field, e.g. `quantityKg: must be > 0`. */
export function describeIssues(error: z.ZodError, max = 5): string {
  const parts = error.issues.slice(0, max).map((issue) => {
    const path = issue.path.length > 0 ? issue.path.join('.') : '(record)';
    return `${path}: ${issue.message}`;
  });
  if (error.issues.length > max) parts.push(`and ${error.issues.length - max} more`);
  return parts.join('; ');
}

function parseWith<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new InvalidRecordError('REE_ERR_VALIDATION', `invalid ${what}: ${describeIssues(result.error)}`);
  }
  return result.data;
}

/** A report's event, by the fast path (report-check.ts) when it can tell, else by zod. */
export function validateReport(kind: ReportKind, value: unknown): Report {
  switch (kind) {
    case 'production':
      return { kind, event: checkProduction(value) ?? parseWith(REPORT_SCHEMAS.production, value, 'ProductionReport') };
    case 'shipments':
      return { kind, event: checkShipment(value) ?? parseWith(REPORT_SCHEMAS.shipments, value, 'ShipmentReport') };
    case 'receipts':
      return { kind, event: checkReceipt(value) ?? parseWith(REPORT_SCHEMAS.receipts, value, 'ReceiptReport') };
    case 'inventory':
      return { kind, event: checkInventory(value) ?? parseWith(REPORT_SCHEMAS.inventory, value, 'InventoryReport') };
  }
}

export const validateLicence = (value: unknown) => parseWith(licence, value, 'Licence');
export const validateWatchlistEntry = (value: unknown) => parseWith(watchlistEntry, value, 'WatchlistEntry');
export const validateQuota = (value: unknown) => parseWith(productionQuota, value, 'ProductionQuota');
