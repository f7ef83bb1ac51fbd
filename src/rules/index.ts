/**
 * The one static list of rules. An id here that is unknown or listed twice is an error at start,
 * so a typo in a rule module cannot silently disable it.
 */
import { ConfigError } from '../errors.ts';
import { custodyGap } from './custody-gap.ts';
import { destinationMismatch } from './destination-mismatch.ts';
import { hsMisdeclaration } from './hs-misdeclaration.ts';
import { licenceQuotaExceeded } from './licence-quota-exceeded.ts';
import { quotaOverrun } from './quota-overrun.ts';
import { reportingGap } from './reporting-gap.ts';
import { RULE_IDS, type Rule } from './rule.ts';
import { splitShipments } from './split-shipments.ts';
import { unlicensedClient } from './unlicensed-client.ts';
import { undervaluation } from './undervaluation.ts';
import { volumeMismatch } from './volume-mismatch.ts';
import { volumeSpike } from './volume-spike.ts';
import { watchlistMatch } from './watchlist-match.ts';
import { yieldAnomaly } from './yield-anomaly.ts';

export function checkRuleList(rules: readonly Rule<any>[]): readonly Rule<any>[] {
  const seen = new Set<string>();
  for (const rule of rules) {
    if (!(RULE_IDS as readonly string[]).includes(rule.id)) throw new ConfigError(`rule list names unknown rule id "${rule.id}"`);
    if (seen.has(rule.id)) throw new ConfigError(`rule list names "${rule.id}" twice`);
    seen.add(rule.id);
  }
  return rules;
}

export const RULES: readonly Rule<any>[] = checkRuleList([
  volumeMismatch,
  unlicensedClient,
  licenceQuotaExceeded,
  yieldAnomaly,
  destinationMismatch,
  undervaluation,
  hsMisdeclaration,
  watchlistMatch,
  quotaOverrun,
  reportingGap,
  custodyGap,
  volumeSpike,
  splitShipments,
]);
