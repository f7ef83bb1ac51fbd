/**
 * What a rule is: a small pure module (no I/O) with an id, a version, a zod schema for its
 * parameters (with defaults), and an evaluate step that turns one applied report into alert drafts.
 * The shared pipeline step (severity.ts, pipeline/alerts.ts) turns drafts into alerts.
 */
import type { z } from 'zod';
import type { Catalogue } from '../domain/catalogue.ts';
import type { Alert, Licence, ProductionQuota, Report, ReportKind, Severity } from '../domain/events.ts';
import type { WatchlistIndex } from '../screening/watchlist-index.ts';
import type { CustodyRecord } from '../state/custody-ledger.ts';
import type { StateCell } from '../state/engine/cell.ts';
import type { ApplyResult, ClientSighting } from '../state/store.ts';

export const RULE_IDS = [
  'volume-mismatch',
  'yield-anomaly',
  'unlicensed-client',
  'licence-quota-exceeded',
  'destination-mismatch',
  'split-shipments',
  'undervaluation',
  'hs-misdeclaration',
  'volume-spike',
  'custody-gap',
  'watchlist-match',
  'reporting-gap',
  'quota-overrun',
] as const;
export type RuleId = (typeof RULE_IDS)[number];

/**
 * Everything a rule may look at for one report: the report, what applying it did, reference data.
 * The pipeline hands one object per report to each rule in turn, with only `state` changed: a rule
 * reads it during evaluate, and neither changes it nor keeps a reference to it.
 */
export interface RuleInput {
  report: Report;
  result: ApplyResult;
  /** The licence a shipment names, when it names one that exists: the version in effect at the shipment's occurredAt. */
  licence: Licence | null;
  catalogue: Catalogue;
  /** For an export: earlier declared USD/kg of the same producer and material, oldest first. */
  priceHistory?: readonly number[] | undefined;
  /** The restricted-party list as it stands, ready for screening. */
  watchlist?: WatchlistIndex | undefined;
  /** For an export: the store's first sighting of its producer, client id and name (maybe itself). */
  clientFirstSeen?: ClientSighting | undefined;
  /**
   * This rule's own state for the report's producer (rule-state.ts). Durable with the producer's
   * balance book, saved after the batch. A rule's evaluate runs once per report: a redelivered
   * report is not evaluated again (its findings come back from the outbox), so a rule may update
   * its state freely.
   */
  state: RuleState;
  /** The detector's event-time watermark as this batch starts (DESIGN.md, "Watermark"); -Infinity before it has one. */
  watermark: number;
  /**
   * For a DOMESTIC shipment or a receipt: both sides of its shipmentId as the custody ledger holds
   * them after this report was recorded (whichever side comes second sees the first).
   */
  custody?: CustodyRecord | undefined;
  /** For a production report: the producer's quotas (ree.quotas.v1), ordered by quotaId. */
  quotas?: readonly ProductionQuota[] | undefined;
}

/** A rule's own state for one producer: named cells and event-time timers (src/state/rule-state.ts). */
export interface RuleState {
  readonly producerId: string;
  /**
   * This rule's cell of that name in the producer's state, made by `create` on first use and
   * filled from storage. Names: letters, digits, '-' (stored as `rule:<ruleId>:<name>`).
   */
  cell<C extends StateCell>(name: string, create: () => C): C;
  /**
   * A cell of the producer that every rule asking for `name` shares (stored as `shared:<name>`):
   * for state several rules keep alike, e.g. the exports of settled-exports.ts, written once
   * instead of once per rule. Whoever uses it must keep it the same whichever of them runs first.
   */
  sharedCell<C extends StateCell>(name: string, create: () => C): C;
  /**
   * Sets this rule's timer `key` for the producer to fire once the watermark reaches `dueAt`
   * (replacing any timer of that key, earlier or later). `payload` must be JSON.
   */
  setTimer(key: string, dueAt: number, payload?: TimerPayload): void;
  cancelTimer(key: string): void;
  /** The due time of this rule's timer `key`, if set. */
  timerDueAt(key: string): number | undefined;
}

export type TimerPayload = Record<string, string | number | boolean | null>;

/** A timer of this rule that the watermark has passed. */
export interface TimerInput {
  producerId: string;
  key: string;
  dueAt: number;
  payload: TimerPayload;
  state: RuleState;
  /** The watermark that fired it (>= dueAt). */
  watermark: number;
  catalogue: Catalogue;
  /** When the payload names a `shipmentId`: the custody ledger's record of it at firing time. */
  custody?: CustodyRecord | undefined;
}

/**
 * What a rule finds, before the shared step gives it an id, a severity and a detection time: the
 * alert's own fields (from the Alert contract, not a copy of them) plus what that step needs.
 */
export type AlertDraft = Pick<Alert, 'producerId' | 'clientId' | 'licenceId' | 'subjectEventIds' | 'summary' | 'evidence' | 'eventTime' | 'windowStart' | 'windowEnd'> & {
  /** What makes the finding one finding: the same key always gives the same alertId. */
  findingKey: string;
  /** 0..1, how strong the finding is; the rule's severity bands turn it into a severity. */
  score: number;
  /** A severity the finding never goes under, whatever its score (e.g. a revoked licence). */
  severityFloor?: Severity | undefined;
  /** The material the finding is about, when it is not the report's own (balance checks). */
  material?: string;
  /**
   * For a finding that grows (a split group gaining shipments, a quota exceeded further): 1 for its
   * first version, higher for each update. The same alertId is published again with the higher
   * revision; absent means 1.
   */
  revision?: number;
};

/** Parameters resolved for one producer; `material` picks per-material overrides. */
export type ParamsFor<P> = (material?: string) => P;

export interface Rule<P = unknown> {
  id: RuleId;
  version: number;
  description: string;
  params: z.ZodType<P>;
  /** Default severity bands when the rules file gives none (see severity.ts). */
  bands?: { MEDIUM?: number; HIGH?: number; CRITICAL?: number };
  /**
   * The report kinds `evaluate` reads; absent means every kind. The pipeline calls evaluate only
   * for these (it runs ~13 rules on every report, and most judge one kind), so a rule must find
   * nothing and change no state for a kind it leaves out (test/unit/rule-kinds.test.ts checks).
   */
  kinds?: readonly ReportKind[];
  evaluate(input: RuleInput, params: ParamsFor<P>): AlertDraft[];
  /** For rules that set timers: called once per timer, when the watermark passes its due time. */
  onTimer?(timer: TimerInput, params: ParamsFor<P>): AlertDraft[];
}

/** Helps rules keep their parameter type when listed together. */
export const defineRule = <P>(rule: Rule<P>): Rule<P> => rule;
