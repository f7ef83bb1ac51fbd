/**
 * The simulator's side of the licences: what each one has been used for so far, as the detector
 * will count it, and when its records reach the stream. Clean traffic asks here for a licence that
 * truly fits; injectors ask for licences that do not.
 *
 * A licence's first record must reach the stream before a report that names it (the detector
 * knows no licence it has not read), so "known" is a report time (reportedAt). Its status, though,
 * is judged by version: the detector applies the version in effect when the goods went, so
 * "active" and "changed" are event times (occurredAt), whenever the status record arrives.
 */
import type { Licence } from '../domain/events.ts';
import type { LicencePlan } from './world.ts';

/** Keeps clean traffic clear of a status change that takes effect close to a shipment. */
const RECORD_MARGIN_MS = 60_000;
/** Clean traffic stays this far under a quota, so float noise in the sums can never tip it over. */
export const QUOTA_MARGIN_G = 1_000;

export interface SimLicence {
  licence: Licence;
  quotaG: number;
  /** Exports the detector counts against the quota, in grams. */
  usedG: number;
  /** reportedAt of the last counted shipment: a crossing shipment must come after all of them. */
  lastCountedReportAt: number;
  statusChange?: LicencePlan['statusChange'];
  /** An injected overrun happened: clean traffic leaves it alone from then on. */
  overrun: boolean;
}

export class LicenceLedger {
  readonly all: SimLicence[];
  private readonly byRelation = new Map<string, SimLicence[]>();
  private readonly byExporter = new Map<string, SimLicence[]>();
  private readonly ids: Set<string>;

  constructor(plans: readonly LicencePlan[]) {
    this.all = plans.map((p) => ({
      licence: p.licence,
      quotaG: p.licence.quotaKg * 1000,
      usedG: 0,
      lastCountedReportAt: 0,
      statusChange: p.statusChange,
      overrun: false,
    }));
    for (const l of this.all) {
      const key = `${l.licence.exporterId}|${l.licence.clientId}`;
      this.byRelation.set(key, [...(this.byRelation.get(key) ?? []), l]);
      this.byExporter.set(l.licence.exporterId, [...(this.byExporter.get(l.licence.exporterId) ?? []), l]);
    }
    this.ids = new Set(this.all.map((l) => l.licence.licenceId));
  }

  exists(licenceId: string): boolean {
    return this.ids.has(licenceId);
  }

  ofExporter(exporterId: string): SimLicence[] {
    return this.byExporter.get(exporterId) ?? [];
  }

  remainingG(l: SimLicence): number {
    return l.quotaG - QUOTA_MARGIN_G - l.usedG;
  }

  /** Its first record (at issuedAt) is in the stream before a report made at `reportedAt`. */
  knownAt(l: SimLicence, reportedAt: number): boolean {
    return l.licence.issuedAt + RECORD_MARGIN_MS < reportedAt;
  }

  /** Still ACTIVE when goods leave at `occurredAt`. */
  activeAt(l: SimLicence, occurredAt: number): boolean {
    return !l.statusChange || occurredAt + RECORD_MARGIN_MS < l.statusChange.at;
  }

  /**
   * Suspended or revoked when goods leave at `occurredAt`; its status record is in the stream by
   * then too (it goes out when it takes effect), so it is in the stream before the report.
   */
  changedBefore(l: SimLicence, occurredAt: number): boolean {
    return l.statusChange !== undefined && l.statusChange.at + RECORD_MARGIN_MS < occurredAt;
  }

  validOn(l: SimLicence, occurredAt: number): boolean {
    return l.licence.validFrom <= occurredAt && occurredAt <= l.licence.validTo;
  }

  /**
   * A licence a clean export may name: this exporter's, for this client, covering the material,
   * valid on the day, known when reported, active when shipped, not overrun. The one with the most quota left wins;
   * the caller trims the quantity to what remains.
   */
  fitting(exporterId: string, clientId: string, material: string, occurredAt: number, reportedAt: number): SimLicence | undefined {
    let best: SimLicence | undefined;
    for (const l of this.byRelation.get(`${exporterId}|${clientId}`) ?? []) {
      if (l.overrun || !l.licence.materials.includes(material)) continue;
      if (!this.validOn(l, occurredAt) || !this.knownAt(l, reportedAt) || !this.activeAt(l, occurredAt)) continue;
      if (this.remainingG(l) <= 0) continue;
      if (!best || this.remainingG(l) > this.remainingG(best)) best = l;
    }
    return best;
  }

  /** Records an export the detector will count against the licence (exporter, client and material fit). */
  count(l: SimLicence, grams: number, reportedAt: number): void {
    l.usedG += grams;
    l.lastCountedReportAt = Math.max(l.lastCountedReportAt, reportedAt);
  }
}
