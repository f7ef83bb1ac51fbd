/**
 * destination-mismatch: an export whose destination is not where its licence says the goods end up,
 * or not the client's own country: third-country re-export and transshipment, the evasion China's
 * 2025 campaign named. A destination on the transshipment-hub list scores higher.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { kg, tonnes } from './format.ts';
import { defineRule } from './rule.ts';
import { clampScore } from './severity.ts';

const country = z.string().regex(/^[A-Z]{2}$/, 'expected an ISO 3166 alpha-2 country code');

/**
 * US guidance's highest-diversion-risk hubs (Hong Kong, Singapore, UAE) and the 2022 FinCEN/BIS
 * alert's list (RULE-EVIDENCE.md, destination-mismatch).
 */
export const DEFAULT_TRANSSHIPMENT_HUBS = ['HK', 'SG', 'AE', 'AM', 'GE', 'KZ', 'KG', 'TR', 'UZ', 'IN', 'MX'];

export const destinationMismatchParams = z.object({
  transshipmentHubs: z.array(country).default(DEFAULT_TRANSSHIPMENT_HUBS),
  /** Goods sent elsewhere than the licence's end-user country: the licence was granted for another. */
  licenceMismatchScore: z.number().min(0).max(1).default(0.6),
  /** Goods sent elsewhere than the client's own country. */
  clientMismatchScore: z.number().min(0).max(1).default(0.45),
  /** Added when the destination is a transshipment hub. */
  hubBonus: z.number().min(0).max(1).default(0.3),
});

export const destinationMismatch = defineRule({
  id: 'destination-mismatch',
  version: 1,
  description: "Export destination differs from the licence's end-user country or the client's country; hubs weigh more.",
  params: destinationMismatchParams,
  kinds: ['shipments'],
  evaluate({ report, licence }, params) {
    if (report.kind !== 'shipments' || report.event.direction !== 'EXPORT') return [];
    const s = report.event;
    const p = params(s.material);
    const reasons: string[] = [];
    let score = 0;
    // Only a licence issued for this client speaks for where its goods go; another client's licence
    // is unlicensed-client's finding, not a diversion.
    const ownLicence = licence && licence.licenceId === s.licenceId && licence.clientId === s.clientId ? licence : null;
    if (ownLicence && ownLicence.endUserCountry !== s.destinationCountry) {
      reasons.push('licence-end-user-country');
      score = p.licenceMismatchScore;
    }
    if (s.clientCountry !== s.destinationCountry) {
      reasons.push('client-country');
      // Both at once is a little worse than the worse of the two.
      score = score > 0 ? Math.max(score, p.clientMismatchScore) + 0.1 : p.clientMismatchScore;
    }
    if (reasons.length === 0) return [];
    const hub = p.transshipmentHubs.includes(s.destinationCountry);
    if (hub) score += p.hubBonus;
    const expected = [...new Set([...(ownLicence && reasons.includes('licence-end-user-country') ? [ownLicence.endUserCountry] : []), s.clientCountry])].join(' / ');
    return [
      {
        findingKey: `${s.producerId}|${s.shipmentId}`,
        score: clampScore(score),
        producerId: s.producerId,
        clientId: s.clientId,
        licenceId: s.licenceId ?? null,
        subjectEventIds: [s.reportId],
        summary: `${s.producerId} sent ${tonnes(s.quantityKg)} of ${s.material} for ${s.clientName} (${s.clientCountry}) to ${s.destinationCountry}${hub ? ', a transshipment hub,' : ''} instead of ${expected}${ownLicence && reasons.includes('licence-end-user-country') ? ` named by licence ${ownLicence.licenceId}` : ''}.`,
        evidence: {
          reasons: reasons.join(','),
          destinationCountry: s.destinationCountry,
          clientCountry: s.clientCountry,
          licenceEndUserCountry: ownLicence ? ownLicence.endUserCountry : 'none',
          licenceId: s.licenceId ?? 'none',
          transshipmentHub: String(hub),
          transshipmentHubs: p.transshipmentHubs.join(','),
          material: s.material,
          quantityKg: kg(s.quantityKg),
          transportMode: s.transportMode,
          shipmentId: s.shipmentId,
          shippedAt: iso(s.occurredAt),
        },
        eventTime: s.occurredAt,
      },
    ];
  },
});
