/**
 * The injector registry: one injector per rule it exercises. A new rule adds its injector here and
 * the simulator starts labelling that kind of anomaly; the budget is shared by weight.
 */
import type { Injector } from './injector.ts';
import { licenceQuotaInjector } from './licence-quota-exceeded.ts';
import { unlicensedClientInjector } from './unlicensed-client.ts';
import { volumeMismatchInjector } from './volume-mismatch.ts';

export type { InjectionContext, Injector, ShipmentRequest } from './injector.ts';

export const INJECTORS: readonly Injector[] = [volumeMismatchInjector, unlicensedClientInjector, licenceQuotaInjector];
