/**
 * licence-quota-exceeded: the licence holder's cumulative exports under a licence go past its
 * quotaKg. The shipment that crosses the line is one finding (per licence); every later export under
 * the licence, its quota already used up, is a finding of its own: without it a 20 t export after a
 * 10 kg overrun raised nothing, though it went out as unlicensed as an export with no licence.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { roundKg } from '../state/balance.ts';
import { kg, pct, tonnes } from './format.ts';
import { defineRule } from './rule.ts';
import { clampScore } from './severity.ts';

export const licenceQuotaParams = z.object({
  /** Overrun allowed before a finding, in percent of quotaKg (weighing differences at the border). */
  tolerancePct: z.number().min(0).max(100).default(0),
});

export const licenceQuotaExceeded = defineRule({
  id: 'licence-quota-exceeded',
  version: 2,
  description: 'Cumulative exports under a licence above its quotaKg.',
  params: licenceQuotaParams,
  kinds: ['shipments'],
  evaluate({ report, result, licence }, params) {
    if (report.kind !== 'shipments' || !licence) return [];
    const used = result.licenceUsedAfterKg;
    const before = result.licenceUsedBeforeKg;
    if (used === undefined || before === undefined) return [];
    const s = report.event;
    const p = params(s.material);
    // To the gram, like the usage it is compared with: 100 kg * 1.15 is 114.99999999999999 in floating point.
    const limit = roundKg(licence.quotaKg * (1 + p.tolerancePct / 100));
    if (used <= limit) return [];
    const over = used - licence.quotaKg;
    // Already past the line before this export: the whole export went out without quota left.
    const afterUsedUp = before > limit;
    return [
      {
        findingKey: afterUsedUp ? `${licence.licenceId}|${s.shipmentId}` : licence.licenceId,
        // Overrunning by half the quota or more is as bad as it gets.
        score: clampScore(0.5 + over / licence.quotaKg),
        producerId: s.producerId,
        clientId: s.clientId,
        licenceId: licence.licenceId,
        subjectEventIds: [s.reportId],
        summary: afterUsedUp
          ? `${s.producerId} exported ${tonnes(s.quantityKg)} under licence ${licence.licenceId} after its quota of ${tonnes(licence.quotaKg)} was used up, ${tonnes(over)} over it in all.`
          : `${s.producerId} has exported ${tonnes(used)} under licence ${licence.licenceId}, ${tonnes(over)} over its quota of ${tonnes(licence.quotaKg)}.`,
        evidence: {
          check: afterUsedUp ? 'export-after-quota-used-up' : 'crossing',
          quotaKg: kg(licence.quotaKg),
          usedBeforeKg: kg(before),
          shipmentKg: kg(s.quantityKg),
          usedAfterKg: kg(used),
          overKg: kg(over),
          overPct: pct(over / licence.quotaKg),
          tolerancePct: String(p.tolerancePct),
          material: s.material,
          shipmentId: s.shipmentId,
          shippedAt: iso(s.occurredAt),
        },
        eventTime: s.occurredAt,
        windowStart: licence.validFrom,
        windowEnd: licence.validTo,
      },
    ];
  },
});
