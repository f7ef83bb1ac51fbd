/**
 * hs-misdeclaration: a shipment declared under an HS code that is not one of its material's
 * catalogue codes. Worst when controlled goods go out under the code of uncontrolled goods, the
 * way 2025's cases did it: Dy-NdFeB as 8505119000, Dy/Tb as nickel powder (HS 7504). A shorter
 * heading of the material's own code is fine unless it also covers goods of the other control
 * status (Dy-NdFeB as 850511, which covers 8505119000 too): that hides the control status.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { kg, tonnes } from './format.ts';
import { defineRule } from './rule.ts';

export const hsMisdeclarationParams = z.object({
  /** Score of a code that fits neither the material nor anything the catalogue knows. */
  unknownCodeScore: z.number().min(0).max(1).default(0.5),
  /** Score of a code that belongs to another material of the same control status. */
  otherMaterialScore: z.number().min(0).max(1).default(0.65),
  /** Score of controlled goods under an uncontrolled code: the evasion the rule is for. */
  controlledAsUncontrolledScore: z.number().min(0).max(1).default(0.9),
  /**
   * Score of controlled goods under a heading of their own code that also covers uncontrolled
   * goods: the status is hidden rather than denied, so a little under controlled-as-uncontrolled.
   * Uncontrolled goods under such a heading hide nothing from the licence check and score as an
   * unknown code.
   */
  unspecificHeadingScore: z.number().min(0).max(1).default(0.85),
});

export const hsMisdeclaration = defineRule({
  id: 'hs-misdeclaration',
  version: 1,
  description: 'HS code inconsistent with the material; controlled goods under an uncontrolled code score highest.',
  params: hsMisdeclarationParams,
  // The two lesser cases land in MEDIUM and HIGH, controlled-as-uncontrolled in CRITICAL.
  bands: { MEDIUM: 0.45, HIGH: 0.6, CRITICAL: 0.85 },
  kinds: ['shipments'],
  evaluate({ report, catalogue }, params) {
    if (report.kind !== 'shipments') return [];
    const s = report.event;
    const entry = catalogue.get(s.material);
    // An unknown material has no codes to hold the declaration against.
    if (!entry || catalogue.hsCodeFits(s.material, s.hsCode)) return [];
    const p = params(s.material);
    const controlled = entry.controlledElements.length > 0;
    // hsCodeFits said no to a heading of the material's own code: it covers the other control status too.
    const heading = entry.hsCodes.some((own) => own.startsWith(s.hsCode));
    const covered = heading ? catalogue.codesUnder(s.hsCode) : [];
    const declaredAs = heading ? { goods: 'a heading covering both controlled and uncontrolled goods', controlled: false } : catalogue.goodsOfHsCode(s.hsCode);
    const evasion = controlled && declaredAs !== undefined && !declaredAs.controlled;
    const score = heading
      ? controlled
        ? p.unspecificHeadingScore
        : p.unknownCodeScore
      : evasion
        ? p.controlledAsUncontrolledScore
        : declaredAs
          ? p.otherMaterialScore
          : p.unknownCodeScore;
    const coveredText = covered.map((c) => `${c.hsCode} ${c.goods} (${c.controlled ? 'controlled' : 'uncontrolled'})`).join('; ');
    const goodsText = heading
      ? `a heading that covers ${coveredText}`
      : declaredAs
        ? `the code of ${declaredAs.controlled ? 'controlled' : 'uncontrolled'} ${declaredAs.goods}`
        : 'the code of goods the catalogue does not know';
    const what = controlled ? `controlled ${s.material} (${entry.controlledElements.join('/')})` : s.material;
    return [
      {
        findingKey: `${s.producerId}|${s.shipmentId}`,
        score,
        severityFloor: evasion ? 'HIGH' : undefined,
        producerId: s.producerId,
        clientId: s.clientId,
        licenceId: s.licenceId ?? null,
        subjectEventIds: [s.reportId],
        summary: `${s.producerId} shipped ${tonnes(s.quantityKg)} of ${what} to ${s.clientName} (${s.destinationCountry}) declared under HS ${s.hsCode}, ${goodsText}, not one of ${entry.hsCodes.join('/')}.`,
        evidence: {
          declaredHsCode: s.hsCode,
          expectedHsCodes: entry.hsCodes.join(','),
          declaredAs: declaredAs?.goods ?? 'unknown code',
          ...(declaredAs && 'material' in declaredAs && declaredAs.material ? { declaredAsMaterial: declaredAs.material } : {}),
          ...(heading ? { headingCovers: coveredText } : {}),
          declaredAsControlled: String(declaredAs?.controlled ?? false),
          material: s.material,
          materialControlled: String(controlled),
          controlledElements: entry.controlledElements.join(',') || 'none',
          quantityKg: kg(s.quantityKg),
          direction: s.direction,
          shipmentId: s.shipmentId,
          shippedAt: iso(s.occurredAt),
        },
        eventTime: s.occurredAt,
      },
    ];
  },
});
