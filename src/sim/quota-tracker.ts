/**
 * Year totals of production against quotas, two ways: as made (for an injector sizing a quota) and
 * in stream order (what the detector sums). The detector's crossing report is the one whose
 * arrival, in stream order, takes the year's total over quotaKg, so a quota-overrun label is found
 * here as the records are handed out, not when they are made (report delays reorder them).
 * Grams throughout: reports carry kg to 0.1, so the sums are exact.
 */
import type { ProductionQuota, ProductionReport } from '../domain/events.ts';

const yearOf = (epochMs: number): number => new Date(epochMs).getUTCFullYear();
const key = (producerId: string, year: number, material: string): string => `${producerId}|${year}|${material}`;
const gramsOf = (kg: number): number => Math.round(kg * 1000);

interface Watch {
  quota: ProductionQuota;
  onCrossing: (report: ProductionReport) => void;
}

export class QuotaTracker {
  private readonly made = new Map<string, number>();
  private readonly streamed = new Map<string, number>();
  /** producerId → quotas whose crossing is awaited. */
  private readonly watches = new Map<string, Watch[]>();

  private static add(totals: Map<string, number>, r: ProductionReport): void {
    const k = key(r.producerId, yearOf(r.occurredAt), r.material);
    totals.set(k, (totals.get(k) ?? 0) + gramsOf(r.quantityKg));
  }

  private static sum(totals: Map<string, number>, producerId: string, year: number, materials: readonly string[]): number {
    return materials.reduce((s, m) => s + (totals.get(key(producerId, year, m)) ?? 0), 0);
  }

  /** A production report was made (it may reach the stream later). */
  madeReport(r: ProductionReport): void {
    QuotaTracker.add(this.made, r);
  }

  /** Grams made so far in `year` of the materials, by the producer. */
  madeG(producerId: string, year: number, materials: readonly string[]): number {
    return QuotaTracker.sum(this.made, producerId, year, materials);
  }

  /** Calls `onCrossing` once, with the report whose arrival takes the quota's year total over it. */
  watch(quota: ProductionQuota, onCrossing: (report: ProductionReport) => void): void {
    const list = this.watches.get(quota.producerId) ?? [];
    list.push({ quota, onCrossing });
    this.watches.set(quota.producerId, list);
  }

  /** A production report reached the stream. */
  streamedReport(r: ProductionReport): void {
    QuotaTracker.add(this.streamed, r);
    const list = this.watches.get(r.producerId);
    if (!list) return;
    const year = yearOf(r.occurredAt);
    const left = list.filter((w) => {
      const { quota } = w;
      if (quota.year !== year || !quota.materials.includes(r.material)) return true;
      if (QuotaTracker.sum(this.streamed, r.producerId, year, quota.materials) <= gramsOf(quota.quotaKg)) return true;
      w.onCrossing(r);
      return false;
    });
    if (left.length > 0) this.watches.set(r.producerId, left);
    else this.watches.delete(r.producerId);
  }
}
