/**
 * What a rule is: a small pure module (no I/O) with an id, a version, a zod schema for its
 * parameters (with defaults), and an evaluate step that turns one applied report into alert drafts.
 * The shared pipeline step (severity.ts, pipeline/alerts.ts) turns drafts into alerts.
 */
import type { z } from 'zod';
import type { Catalogue } from '../domain/catalogue.ts';
import type { Alert, Licence, Report, Severity } from '../domain/events.ts';
import type { WatchlistIndex } from '../screening/watchlist-index.ts';
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

/** Everything a rule may look at for one report: the report, what applying it did, reference data. */
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
  evaluate(input: RuleInput, params: ParamsFor<P>): AlertDraft[];
}

/** Helps rules keep their parameter type when listed together. */
export const defineRule = <P>(rule: Rule<P>): Rule<P> => rule;
