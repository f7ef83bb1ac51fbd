/**
 * destination-mismatch anomalies: goods for a client (and its licence's end-user country) sent
 * elsewhere: through a transshipment hub, or straight to a third country.
 */
import { DEFAULT_TRANSSHIPMENT_HUBS } from '../../rules/destination-mismatch.ts';
import { labelOf, properExport, shipDeclared } from './declared-export.ts';
import type { Injector } from './injector.ts';

const RULE = 'destination-mismatch' as const;
const THIRD_COUNTRIES = ['DE', 'US', 'JP', 'KR', 'VN', 'TH', 'IT', 'FR', 'PL', 'GB', 'NL', 'BR', 'OM', 'RU'];

export const destinationMismatchInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  tailDays: 0,
  inject(ctx) {
    const pick = properExport(ctx, () => true);
    if (!pick) return false;
    const home = ctx.world.clientById.get(pick.clientId)!.country;
    const viaHub = ctx.rng.chance(0.6);
    const destination = ctx.rng.pick((viaHub ? DEFAULT_TRANSSHIPMENT_HUBS : THIRD_COUNTRIES).filter((c) => c !== home));
    const shipment = shipDeclared(ctx, pick, { destinationCountry: destination });
    ctx.label(viaHub ? 'transshipment-hub' : 'third-country', { ruleId: RULE, ...labelOf(shipment) });
    return true;
  },
};
