/**
 * quota-overrun's record of the overruns it has published for one producer, one entry per quota
 * and year: the revision last published and the report that first took the total over. A finding
 * that grows is published again under the same key with the next revision, so the record must
 * survive restarts and moves to another instance: it is a cell, saved and restored as JSON.
 */
import { WholeCell } from '../state/engine/cell.ts';

export interface QuotaFinding {
  revision: number;
  /** The report that first took the year's total over the quota: the finding's subject. */
  crossingReportId: string;
  crossingOccurredAt: number;
  /** The year's total (kg) the last published revision reported: updates wait for it to grow enough. */
  publishedKg: number;
}

export class QuotaFindings extends WholeCell<Record<string, QuotaFinding>> {
  private readonly findings = new Map<string, QuotaFinding>();

  get(key: string): QuotaFinding | undefined {
    return this.findings.get(key);
  }

  set(key: string, finding: QuotaFinding): void {
    this.findings.set(key, finding);
    this.changed();
  }

  protected toData(): Record<string, QuotaFinding> | null {
    return this.findings.size === 0 ? null : Object.fromEntries(this.findings);
  }

  protected fromData(data: Record<string, QuotaFinding>): void {
    for (const [key, finding] of Object.entries(data)) this.findings.set(key, finding);
  }
}
