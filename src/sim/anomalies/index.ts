/**
 * The injector registry: one injector per rule it exercises (volume-mismatch's first declaration has
 * its own, since it runs on the first day only). A new rule adds its injector here and
 * the simulator starts labelling that kind of anomaly; the budget is shared by weight.
 */
import { custodyGapInjector } from './custody-gap.ts';
import { destinationMismatchInjector } from './destination-mismatch.ts';
import { firstDeclarationInjector } from './first-declaration.ts';
import { hsMisdeclarationInjector } from './hs-misdeclaration.ts';
import type { Injector } from './injector.ts';
import { licenceQuotaInjector } from './licence-quota-exceeded.ts';
import { quotaOverrunInjector } from './quota-overrun.ts';
import { reportingGapInjector } from './reporting-gap.ts';
import { unlicensedClientInjector } from './unlicensed-client.ts';
import { undervaluationInjector } from './undervaluation.ts';
import { volumeMismatchInjector } from './volume-mismatch.ts';
import { watchlistMatchInjector } from './watchlist-match.ts';
import { splitShipmentsInjector } from './split-shipments.ts';
import { volumeSpikeInjector } from './volume-spike.ts';
import { yieldAnomalyInjector } from './yield-anomaly.ts';

export type { InjectionContext, Injector, ProductionRequest, ShipmentRequest } from './injector.ts';

export const INJECTORS: readonly Injector[] = [
  volumeMismatchInjector,
  unlicensedClientInjector,
  licenceQuotaInjector,
  yieldAnomalyInjector,
  destinationMismatchInjector,
  undervaluationInjector,
  hsMisdeclarationInjector,
  watchlistMatchInjector,
  firstDeclarationInjector,
  quotaOverrunInjector,
  reportingGapInjector,
  custodyGapInjector,
  splitShipmentsInjector,
  volumeSpikeInjector,
];
