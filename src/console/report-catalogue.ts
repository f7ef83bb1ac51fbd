/**
 * The key fields of the reports behind alerts, for the alert page. The console reads the report
 * topics alongside the alerts; a report named by an alert is kept for good, the others only while
 * they are among the most recent `recentLimit` (an alert names reports the detector has just read,
 * so recent ones are what it will ask for). Pure: the feed hands reports in.
 */
import type { Report } from '../domain/events.ts';

export interface ReportSummary {
  reportId: string;
  kind: Report['kind'];
  producerId: string;
  occurredAt: number;
  /** What an investigator reads first, as text: quantities, counterparties, codes. */
  fields: Record<string, string>;
}

export interface ReportCatalogue {
  addReport(report: Report): void;
  /** An alert names these reports: keep them (now, or when they arrive). */
  pin(reportIds: readonly string[]): void;
  get(reportId: string): ReportSummary | undefined;
}

export const DEFAULT_RECENT_REPORTS = 200_000;

export function summariseReport(report: Report): ReportSummary {
  const base = { reportId: report.event.reportId, kind: report.kind, producerId: report.event.producerId, occurredAt: report.event.occurredAt };
  const text = (entries: Record<string, string | number | null | undefined>) =>
    Object.fromEntries(Object.entries(entries).filter((e): e is [string, string | number] => e[1] !== null && e[1] !== undefined).map(([k, v]) => [k, String(v)]));
  switch (report.kind) {
    case 'production': {
      const e = report.event;
      const inputs = e.inputs.map((i) => `${i.quantityKg} kg ${i.material}`).join(', ');
      return { ...base, fields: text({ stage: e.stage, material: e.material, quantityKg: e.quantityKg, inputs: inputs || 'none', facilityId: e.facilityId }) };
    }
    case 'shipments': {
      const e = report.event;
      return {
        ...base,
        fields: text({
          shipmentId: e.shipmentId,
          direction: e.direction,
          material: e.material,
          quantityKg: e.quantityKg,
          clientId: e.clientId,
          clientName: e.clientName,
          destinationCountry: e.destinationCountry,
          licenceId: e.licenceId ?? 'none',
          hsCode: e.hsCode,
          declaredValueUsd: e.declaredValueUsd,
          transportMode: e.transportMode,
        }),
      };
    }
    case 'receipts': {
      const e = report.event;
      return { ...base, fields: text({ shipmentId: e.shipmentId, supplierId: e.supplierId, material: e.material, quantityKg: e.quantityKg }) };
    }
    case 'inventory': {
      const e = report.event;
      return { ...base, fields: text({ material: e.material, onHandKg: e.onHandKg }) };
    }
  }
}

export function createReportCatalogue(recentLimit = DEFAULT_RECENT_REPORTS): ReportCatalogue {
  const pinned = new Map<string, ReportSummary>();
  /** Insertion-ordered, so the first key is the oldest to let go. */
  const recent = new Map<string, ReportSummary>();
  const wanted = new Set<string>();

  return {
    addReport(report) {
      const summary = summariseReport(report);
      const id = summary.reportId;
      if (pinned.has(id)) return;
      if (wanted.delete(id)) {
        pinned.set(id, summary);
        return;
      }
      recent.delete(id);
      recent.set(id, summary);
      if (recent.size > recentLimit) recent.delete(recent.keys().next().value!);
    },
    pin(reportIds) {
      for (const id of reportIds) {
        if (pinned.has(id)) continue;
        const summary = recent.get(id);
        if (summary) {
          recent.delete(id);
          pinned.set(id, summary);
        } else {
          wanted.add(id);
        }
      }
    },
    get: (reportId) => pinned.get(reportId) ?? recent.get(reportId),
  };
}
