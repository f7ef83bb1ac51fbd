/**
 * licence-quota-exceeded anomalies: an exporter ships past a licence's quota. The licence is its
 * own, valid and active, and the goods are covered, so the shipment is otherwise in order; only the
 * cumulative quantity is wrong. The labelled shipment is the one that crosses the quota: it is
 * reported after every earlier shipment under the licence, so the detector meets it last.
 */
import type { InjectionContext, Injector } from './injector.ts';
import { usualLotG } from './ordinary-lot.ts';

const RULE = 'licence-quota-exceeded' as const;

function overrun(ctx: InjectionContext): boolean {
  const { rng, licences } = ctx;
  const occurredAt = ctx.workTime();
  for (const l of rng.shuffled(licences.all)) {
    if (l.overrun || !licences.validOn(l, occurredAt) || !licences.knownAt(l, occurredAt)) continue;
    const exporterId = l.licence.exporterId;
    // A producer silenced by a reporting-gap anomaly files nothing until it resumes.
    if (ctx.silent(exporterId)) continue;
    for (const material of rng.shuffled(l.licence.materials)) {
      const stock = Math.floor(ctx.stockG(exporterId, material) / 1000) * 1000;
      const left = l.quotaG - l.usedG;
      // Over by 5-30 % of the quota where stock allows; by at least 5 kg in any case.
      const wanted = Math.ceil((left + Math.max(10_000, l.quotaG * rng.float(0.05, 0.3))) / 1000) * 1000;
      const grams = Math.min(wanted, stock);
      if (grams < left + 5_000) continue;
      // An overrun that large against the exporter's usual lot would be a volume-spike as well.
      const usual = usualLotG(ctx, exporterId, material);
      if (usual === null || grams > 3 * usual) continue;
      const reportedAt = Math.max(occurredAt + ctx.reportDelay(), l.lastCountedReportAt + rng.int(60, 3_600) * 1000);
      // The licence must still be active when the goods leave, or the shipment is unlicensed too.
      if (!licences.activeAt(l, occurredAt)) continue;
      const shipment = ctx.ship({
        producerId: exporterId,
        material,
        grams,
        direction: 'EXPORT',
        clientId: l.licence.clientId,
        licenceId: l.licence.licenceId,
        occurredAt,
        reportedAt,
      });
      licences.count(l, grams, reportedAt);
      l.overrun = true;
      ctx.label('overrun', {
        ruleId: RULE,
        producerId: exporterId,
        subjectEventIds: [shipment.reportId],
        clientId: l.licence.clientId,
        licenceId: l.licence.licenceId,
      });
      return true;
    }
  }
  return false;
}

export const licenceQuotaInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  tailDays: 0,
  inject: overrun,
};
