/**
 * split-shipments anomalies: a consignment an exporter could send as one lot goes out as 4-8
 * parcels, each under the material's small threshold, to one client over a few days (the 2025
 * "multiple small parcels by express delivery"). The parcels come from real stock under a licence
 * with quota for all of them, and no stock declaration falls between them, so the books stay whole
 * and no other rule is broken.
 */
import { median } from 'simple-statistics';
import { DAY_MS } from '../../domain/time.ts';
import { materialSmallKg, splitShipmentsParams } from '../../rules/split-shipments.ts';
import { volumeSpikeParams } from '../../rules/volume-spike.ts';
import { declaresOn } from '../world.ts';
import { properExport } from './declared-export.ts';
import type { Injector } from './injector.ts';

const RULE = 'split-shipments' as const;
/** volume-spike's default baseline: the exporter's last 30 exports. */
const BASELINE_SIZE = volumeSpikeParams.parse({}).historySize;
const DEFAULTS = splitShipmentsParams.parse({});
/** The parcels are spread over this many days from the first. */
const SPREAD_DAYS = 5;

/**
 * Whether the exporter's usual lot survives the parcels: they must stay a minority of the exports
 * volume-spike takes its baseline from, or the exporter's next ordinary lot would look like a
 * spike against them (and the anomaly would break a second rule).
 */
function baselineHolds(history: readonly number[], parcels: number, parcelKg: number): boolean {
  const recent = history.slice(-BASELINE_SIZE);
  if (recent.length < parcels + 4) return false;
  const after = [...history, ...Array<number>(parcels).fill(parcelKg)].slice(-BASELINE_SIZE);
  return median(after) >= 0.7 * median([...recent]);
}

export const splitShipmentsInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  // The last parcel goes out up to SPREAD_DAYS later, then the watermark must pass it (see volume-spike's).
  tailDays: SPREAD_DAYS + 10,
  inject(ctx) {
    const { rng } = ctx;
    const startDay = Math.round(ctx.dayStart / DAY_MS) - ctx.day;
    const parcels = rng.int(DEFAULTS.minShipments, 8);
    const offsets = [0, ...Array.from({ length: parcels - 1 }, () => rng.int(0, SPREAD_DAYS))].sort((a, b) => a - b);
    const pick = properExport(ctx, (material, exporter) => {
      // A declaration between two parcels would count the later ones as stock the books still hold.
      for (let d = 0; d < offsets[offsets.length - 1]!; d += 1) if (declaresOn(exporter, ctx.day + d, startDay)) return false;
      const smallKg = materialSmallKg(material, ctx.catalogue, DEFAULTS);
      return smallKg !== null && baselineHolds(ctx.exports(exporter.id, material).map((x) => x.kg), parcels, smallKg.kg);
    });
    if (!pick) return false;
    const smallKg = materialSmallKg(pick.material, ctx.catalogue, DEFAULTS)!.kg;
    const grams = Math.floor(smallKg * rng.float(0.5, 0.95) * 10) * 100;
    if (grams <= 0 || grams * parcels > ctx.stockG(pick.exporter.id, pick.material)) return false;
    // Every parcel under a licence in force with quota left at its own time, or none is sent.
    const plan = offsets.map((offset) => {
      const occurredAt = pick.occurredAt + offset * DAY_MS;
      const reportedAt = occurredAt + ctx.reportDelay();
      const licence = pick.licence ? ctx.licences.fitting(pick.exporter.id, pick.clientId, pick.material, occurredAt, reportedAt) : null;
      return { occurredAt, reportedAt, licence };
    });
    if (pick.licence && plan.some((x) => !x.licence || ctx.licences.remainingG(x.licence) < grams * parcels)) return false;
    const ids = plan.map(({ occurredAt, reportedAt, licence }) => {
      const shipment = ctx.ship({ producerId: pick.exporter.id, material: pick.material, grams, direction: 'EXPORT', clientId: pick.clientId, licenceId: licence?.licence.licenceId ?? null, occurredAt, reportedAt });
      if (licence) ctx.licences.count(licence, grams, reportedAt);
      return shipment.reportId;
    });
    ctx.label('one-client', { ruleId: RULE, producerId: pick.exporter.id, subjectEventIds: ids, clientId: pick.clientId, ...(pick.licence ? { licenceId: pick.licence.licence.licenceId } : {}) });
    return true;
  },
};
