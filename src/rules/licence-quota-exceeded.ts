/**
 * licence-quota-exceeded: the licence holder's cumulative exports under a licence go past its
 * quotaKg. One finding per licence: the shipment that crosses the line is its subject.
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
  version: 1,
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
    return [
      {
        findingKey: licence.licenceId,
        // Overrunning by half the quota or more is as bad as it gets.
        score: clampScore(0.5 + over / licence.quotaKg),
        producerId: s.producerId,
        clientId: s.clientId,
        licenceId: licence.licenceId,
        subjectEventIds: [s.reportId],
        summary: `${s.producerId} has exported ${tonnes(used)} under licence ${licence.licenceId}, ${tonnes(over)} over its quota of ${tonnes(licence.quotaKg)}.`,
        evidence: {
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
