/**
 * yield-anomaly: a production report whose output is more than its declared inputs can make at the
 * catalogue's maximum yields (oxide → metal by stoichiometry, metal → NdFeB alloy at its leanest
 * rare-earth content, alloy → magnet at most 1:1), beyond a tolerance; or a METAL, ALLOY or MAGNET
 * output with no rare-earth input at all. Either way, output the inputs cannot explain points at
 * undeclared feedstock. Recycling runs, and runs with a rare-earth input the catalogue knows no
 * conversion for, are not judged (see judgeYield).
 */
import { z } from 'zod';
import type { Catalogue } from '../domain/catalogue.ts';
import type { ProductionReport } from '../domain/events.ts';
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

/**
 * Whether the catalogue can bound a run's output at all. A run it cannot bound is "not judged",
 * never judged as if the unknown inputs made nothing: that is what flagged ordinary recycling.
 */
export type YieldJudgement =
  | { judged: false; reason: 'no-conversion-into-output' | 'recycling' | 'no-input-needed' | 'input-without-conversion' }
  | { judged: true; inputs: { material: string; quantityKg: number; maxYield: number }[]; allowedKg: number };

type NotJudged = Extract<YieldJudgement, { judged: false }>['reason'];

/**
 * The most output the run's rare-earth inputs allow at the maximum yields, or why the catalogue
 * cannot bound it: judgeYield's verdict without its lists, for the check most runs pass.
 */
export function yieldAllowance(r: ProductionReport, catalogue: Catalogue): number | NotJudged {
  // Without a conversion in the catalogue (mined concentrate, SmCo from untracked Sm and Co)
  // there is nothing to hold the output against.
  if (catalogue.inputsOf(r.material).length === 0) return 'no-conversion-into-output';
  // Recycling recovers rare earths from scrap of any stage (magnet scrap → oxide, or → magnets
  // again); the catalogue's yields are for primary conversions and bound nothing here.
  if (r.stage === 'RECYCLING') return 'recycling';
  let allowedKg = 0;
  let rareEarthInputs = 0;
  for (const i of r.inputs) {
    if (catalogue.get(i.material) === undefined) continue;
    const maxYield = catalogue.maxYield(i.material, r.material);
    // A rare-earth input with no known conversion into this output, direct or chained, could make
    // any amount as far as the catalogue can tell; counting it as 0 would flag a run the catalogue
    // merely lacks. (Chains count: a kilo of concentrate declared beside 100 kg of alloy no longer
    // leaves 10 t of magnet unjudged.)
    if (maxYield === undefined) return 'input-without-conversion';
    rareEarthInputs += 1;
    allowedKg += i.quantityKg * maxYield;
  }
  if (rareEarthInputs === 0 && !STAGES_NEEDING_INPUT.has(r.stage)) return 'no-input-needed';
  return allowedKg;
}

export function judgeYield(r: ProductionReport, catalogue: Catalogue): YieldJudgement {
  const allowance = yieldAllowance(r, catalogue);
  if (typeof allowance === 'string') return { judged: false, reason: allowance };
  const inputs = [];
  for (const i of r.inputs) {
    if (catalogue.get(i.material) === undefined) continue;
    inputs.push({ material: i.material, quantityKg: i.quantityKg, maxYield: catalogue.maxYield(i.material, r.material)! });
  }
  return { judged: true, inputs, allowedKg: allowance };
}

export const yieldAnomaly = defineRule({
  id: 'yield-anomaly',
  version: 2,
  description: 'Output above what the declared inputs allow at the catalogue’s maximum yields, or no rare-earth input at all.',
  params: yieldAnomalyParams,
  kinds: ['production'],
  evaluate({ report, catalogue }, params) {
    if (report.kind !== 'production') return [];
    const r = report.event;
    const allowance = yieldAllowance(r, catalogue);
    if (typeof allowance === 'string') return [];
    // Within the limit with some rare-earth input (the allowance is then above 0): most runs end here, with nothing made.
    if (allowance > 0 && r.quantityKg <= allowance * (1 + params(r.material).tolerancePct / 100)) return [];
    const judgement = judgeYield(r, catalogue);
    if (!judgement.judged) return [];
    const { inputs: perInput, allowedKg } = judgement;
    const knownInputs = catalogue.inputsOf(r.material);
    const p = params(r.material);
    const limitKg = allowedKg * (1 + p.tolerancePct / 100);
    const noInput = perInput.length === 0;
    if (!noInput && r.quantityKg <= limitKg) return [];

    // A chained yield is a product (0.7 x 0.871 x 3.45): four decimals say it.
    const inputsText = perInput.map((i) => `${i.material} ${kg(i.quantityKg)} kg x ${Number(i.maxYield.toFixed(4))}`).join(', ') || 'none';
    const evidence: Record<string, string> = {
      check: noInput ? 'no-rare-earth-input' : 'above-max-yield',
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
      // Every input here has a known yield > 0, so allowedKg > 0.
      const excess = r.quantityKg / allowedKg - 1;
      evidence.excessKg = kg(r.quantityKg - allowedKg);
      evidence.outputOverMax = pct(r.quantityKg / allowedKg);
      // Half again as much as the inputs allow is as clear as it gets.
      score = clampScore(0.4 + excess);
      summary = `${r.producerId} reported ${tonnes(r.quantityKg)} of ${r.material} from inputs that make at most ${tonnes(allowedKg)} (${inputsText}), ${fixed(excess * 100, 1)} % more than they allow.`;
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
