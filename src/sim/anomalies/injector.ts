/**
 * What an anomaly injector is and what it may touch. Injectors run once a day, after the clean
 * traffic of the day and before the day's stock declarations, and see the books as they stand at
 * the end of the day. Everything they emit goes through the same bookkeeping as clean traffic, so
 * an injected anomaly breaks exactly one rule and leaves the rest of the run clean.
 */
import type { Catalogue } from '../../domain/catalogue.ts';
import type { ProductionQuota, ProductionReport, ShipmentReport, WatchlistEntry } from '../../domain/events.ts';
import type { RuleId } from '../../rules/rule.ts';
import type { LicenceLedger } from '../licensing.ts';
import type { Rng } from '../random.ts';
import type { RestrictedParty } from '../restricted-parties.ts';
import type { Label } from '../types.ts';
import type { World } from '../world.ts';

export interface ShipmentRequest {
  producerId: string;
  material: string;
  grams: number;
  direction: 'DOMESTIC' | 'EXPORT';
  /** The receiving producer for DOMESTIC, a foreign client for EXPORT. */
  clientId: string;
  licenceId: string | null;
  occurredAt: number;
  reportedAt: number;
  /** What the report declares differently from the goods' truth (code, value, destination, client). */
  declared?: Partial<Pick<ShipmentReport, 'hsCode' | 'declaredValueUsd' | 'destinationCountry' | 'clientCountry' | 'clientName'>>;
  /**
   * DOMESTIC only: what reaches the buyer and its receipt says, when not the goods shipped (a
   * custody-gap anomaly); null: nothing arrives and no receipt is made. The buyer's book takes
   * what the receipt says, as the detector's does.
   */
  received?: { material: string; grams: number } | null;
  /** DOMESTIC only: told the receipt's reportId once it is made. */
  onReceipt?: (receiptReportId: string) => void;
}

/** An export as injectors see it: kg and event time. */
export interface ExportMade {
  kg: number;
  at: number;
}

export interface ProductionRequest {
  producerId: string;
  material: string;
  grams: number;
  /** Inputs consumed, grams each; they must be in stock. */
  inputs: [material: string, grams: number][];
  occurredAt: number;
}

export interface InjectionContext {
  /** Day index from the start of the run, and its first millisecond. */
  readonly day: number;
  readonly dayStart: number;
  readonly days: number;
  readonly rng: Rng;
  readonly world: World;
  readonly catalogue: Catalogue;
  readonly licences: LicenceLedger;
  /** Book balance at this moment (end of day so far), in grams. */
  stockG(producerId: string, material: string): number;
  /** Opening + produced + received since the last declaration: the detector's "available". */
  periodInG(producerId: string, material: string): number;
  /** The producer's exports of the material so far, in the order they were made. */
  exports(producerId: string, material: string): readonly ExportMade[];
  /** A volume-mismatch anomaly is already in the current reconciliation period. */
  tainted(producerId: string, material: string): boolean;
  declaresToday(producerId: string): boolean;
  /** A time in today's working hours. */
  workTime(): number;
  /** A reporting delay like clean traffic's (hours up to just under two days). */
  reportDelay(): number;
  /** Emits and books a production run (inputs out of stock, output in). */
  produce(request: ProductionRequest): ProductionReport;
  /** The restricted parties listed so far (the background list and injected ones). */
  readonly restrictedParties: RestrictedParty[];
  /** Emits a watchlist entry at its listedAt and remembers the party. */
  list(party: RestrictedParty): WatchlistEntry;
  /** Client names in the world, which no watchlist entry may match. */
  readonly clientNames: readonly string[];
  /** Emits and books a shipment (and for DOMESTIC the receiver's receipt). */
  ship(request: ShipmentRequest): ShipmentReport;
  /** Marks the producer's current period for the material as holding a volume-mismatch anomaly. */
  taint(producerId: string, material: string): void;
  /** Replaces today's declared stock; `onEmitted` gets the declaration's reportId. */
  overrideDeclaration(producerId: string, material: string, declaredG: number, onEmitted: (reportId: string) => void): void;
  label(variant: string, label: Omit<Label, 'anomalyId'>): void;
  /**
   * Produced + received - consumed - shipped since the run began, in grams: what the detector's
   * book of the material holds before the producer's first declaration (the opening stock is unseen).
   */
  sinceStartG(producerId: string, material: string): number;
  /** The producer's quota for the year as it stands, if it holds one. */
  quotaOf(producerId: string, year: number): ProductionQuota | undefined;
  /** Grams of the materials the producer has made so far in the year (reported or still to reach the stream). */
  producedInYearG(producerId: string, year: number, materials: readonly string[]): number;
  /**
   * Emits a new version of a quota at its issuedAt, and calls `onCrossing` with the production
   * report whose arrival, in stream order, first takes the year's total over it.
   */
  reissueQuota(quota: ProductionQuota, onCrossing: (report: ProductionReport) => void): void;
  /** The producer is silenced (reporting-gap): it makes, ships, receives and declares nothing. */
  silent(producerId: string): boolean;
  /** Silences the producer from now (after today's traffic) for `days` more days (Infinity: to the end). */
  silence(producerId: string, days: number): void;
  /** The producer's report with the latest occurredAt emitted so far (receipts can be dated a day or two ahead). */
  lastReport(producerId: string): { reportId: string; occurredAt: number } | undefined;
}

export interface Injector {
  ruleId: RuleId;
  /** Share of the anomaly budget. */
  weight: number;
  /**
   * Days at the end of the run with no injection: a finding that waits for a grace period on the
   * producer's clock needs that clock to move on before the recording ends.
   */
  tailDays: number;
  /** Injects only on the run's first day, before its first stock declarations (and nowhere else). */
  firstDayOnly?: boolean;
  /** Tries to inject one anomaly today; false when nothing fitted. */
  inject(ctx: InjectionContext): boolean;
}
