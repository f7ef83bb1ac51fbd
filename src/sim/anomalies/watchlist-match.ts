/**
 * watchlist-match anomalies: a front company of a restricted party, trading under a variant of its
 * name (another romanisation, the given name split or run together, capitals, tone marks, another
 * company form), buys uncontrolled goods. Either the party is listed first and the export follows
 * the same day, or the export comes first and the listing days later (retro-screening).
 */
import { frontCompanyName, newRestrictedParty } from '../restricted-parties.ts';
import { DAY_MS, HOUR_MS } from '../../domain/time.ts';
import { labelOf, properExport, shipDeclared } from './declared-export.ts';
import type { Injector } from './injector.ts';

const RULE = 'watchlist-match' as const;
/** The retro variant lists the party up to this many days after the export. */
const MAX_LISTING_DELAY_DAYS = 4;

export const watchlistMatchInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  tailDays: MAX_LISTING_DELAY_DAYS + 1,
  inject(ctx) {
    const { rng } = ctx;
    const pick = properExport(ctx, (material) => !ctx.catalogue.isControlled(material));
    if (!pick) return false;
    const retro = rng.chance(0.5);
    const listedAt = retro
      ? ctx.dayStart + rng.int(2, MAX_LISTING_DELAY_DAYS) * DAY_MS + rng.int(1, 4) * HOUR_MS
      : ctx.dayStart + rng.int(1, 4) * HOUR_MS + rng.int(0, 59) * 60_000;
    const listed = ctx.restrictedParties.flatMap((r) => [r.entry.name, ...r.entry.aliases, ...r.frontNames]);
    const entryId = `W-${ctx.day}-${rng.int(100_000, 999_999)}`;
    if (ctx.restrictedParties.some((r) => r.entry.entryId === entryId)) return false;
    const party = newRestrictedParty(rng, entryId, listedAt, [...ctx.clientNames, ...listed]);
    const clientName = party && frontCompanyName(rng, party, [...ctx.clientNames, ...listed]);
    if (!party || !clientName) return false;
    party.frontNames.push(clientName);
    ctx.list(party);
    const country = party.entry.country!;
    const shipment = shipDeclared(ctx, { ...pick, clientId: `CF-${entryId.slice(2)}`, licence: null }, { clientName, clientCountry: country, destinationCountry: country });
    ctx.label(retro ? 'listed-after-export' : 'listed-before-export', { ruleId: RULE, ...labelOf(shipment) });
    return true;
  },
};
