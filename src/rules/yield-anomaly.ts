/**
 * yield-anomaly: a production report whose output is more than its declared inputs can make at the
 * catalogue's maximum yields (oxide → metal by stoichiometry, metal → NdFeB alloy at its leanest
 * rare-earth content, alloy → magnet at most 1:1), beyond a tolerance; or a METAL, ALLOY or MAGNET
 * output with no rare-earth input at all. Either way, output the inputs cannot explain points at
 * undeclared feedstock.
 */
import { z } from 'zod';
import { iso } from '../domain/time.ts';
import { fixed, kg, pct, tonnes } from './format.ts';
import { defineRule } from './rule.ts';
import { clampScore } from './severity.ts';

const STAGES_NEEDING_INPUT = new Set(['METAL', 'ALLOY', 'MAGNET']);

export const yieldAnomalyParams = z.object({
  /** Output allowed above the maximum, in percent: batch rounding and moisture. */
  tolerancePct: z.number().min(0).max(100).default(3),
  /** Score of an output with no rare-earth input at a stage that needs one. */
  noInputScore: z.number().min(0).max(1).default(0.85),
});

export const yieldAnomaly = defineRule({
  id: 'yield-anomaly',
  version: 1,
  description: 'Output above what the declared inputs allow at the catalogue’s maximum yields, or no rare-earth input at all.',
  params: yieldAnomalyParams,
  evaluate({ report, catalogue }, params) {
    if (report.kind !== 'production') return [];
    const r = report.event;
    const knownInputs = catalogue.inputsOf(r.material);
    // Without a conversion in the catalogue (mined concentrate, SmCo from untracked Sm and Co)
    // there is nothing to hold the output against.
    if (knownInputs.length === 0) return [];
    const p = params(r.material);
    const rareEarthInputs = r.inputs.filter((i) => catalogue.get(i.material) !== undefined);
    const perInput = rareEarthInputs.map((i) => ({ ...i, maxYield: catalogue.maxYield(i.material, r.material) ?? 0 }));
    const allowedKg = perInput.reduce((sum, i) => sum + i.quantityKg * i.maxYield, 0);
    const limitKg = allowedKg * (1 + p.tolerancePct / 100);
    const noInput = rareEarthInputs.length === 0;
    if (noInput ? !STAGES_NEEDING_INPUT.has(r.stage) : r.quantityKg <= limitKg) return [];

    const inputsText = perInput.map((i) => `${i.material} ${kg(i.quantityKg)} kg x ${i.maxYield}`).join(', ') || 'none';
    const evidence: Record<string, string> = {
      check: noInput ? 'no-rare-earth-input' : allowedKg === 0 ? 'no-convertible-input' : 'above-max-yield',
      stage: r.stage,
      material: r.material,
      outputKg: kg(r.quantityKg),
      inputs: inputsText,
      catalogueInputs: knownInputs.join(','),
      maxOutputKg: kg(allowedKg),
      tolerancePct: String(p.tolerancePct),
      limitKg: kg(limitKg),
      producedAt: iso(r.occurredAt),
    };
    let score = p.noInputScore;
    let summary = `${r.producerId} reported ${tonnes(r.quantityKg)} of ${r.material} at the ${r.stage} stage with no rare-earth input (the catalogue makes it from ${knownInputs.join(' or ')}).`;
    if (!noInput) {
      const excess = allowedKg > 0 ? r.quantityKg / allowedKg - 1 : Infinity;
      evidence.excessKg = kg(r.quantityKg - allowedKg);
      evidence.outputOverMax = allowedKg > 0 ? pct(r.quantityKg / allowedKg) : 'no convertible input';
      // Half again as much as the inputs allow is as clear as it gets.
      score = allowedKg > 0 ? clampScore(0.4 + excess) : p.noInputScore;
      summary = `${r.producerId} reported ${tonnes(r.quantityKg)} of ${r.material} from inputs that make at most ${tonnes(allowedKg)} (${inputsText}), ${allowedKg > 0 ? `${fixed(excess * 100, 1)} %` : 'all of it'} more than they allow.`;
    }
    return [
      {
        findingKey: `${r.producerId}|${r.reportId}`,
        score,
        producerId: r.producerId,
        subjectEventIds: [r.reportId],
        summary,
        evidence,
        eventTime: r.occurredAt,
      },
    ];
  },
});
