/**
 * The material catalogue: which materials exist, at which stage, under which HS codes, whether
 * their export is licence-controlled, and what they are worth. Rules read it; they never hard-code it.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { STAGES } from './events.ts';
import { describeIssues } from './validate.ts';

const materialEntry = z.object({
  code: z.string().regex(/^[A-Z][A-Z0-9_]{1,63}$/),
  stage: z.enum(STAGES),
  hsCodes: z.array(z.string().regex(/^\d{6,10}$/)).min(1),
  controlledElements: z.array(z.string().regex(/^[A-Z][a-z]?$/)),
  referenceUsdPerKg: z.number().positive(),
  floorUsdPerKg: z.number().positive(),
});
const hsCode = z.string().regex(/^\d{4,10}$/);
/** Uncontrolled goods whose customs codes controlled rare earths get declared under. */
const lookalikeEntry = z.object({ hsCode, goods: z.string().min(1) });
/** The most output one kg of input can physically make. */
const yieldEntry = z.object({ input: materialEntry.shape.code, output: materialEntry.shape.code, maxKgPerKg: z.number().positive() });
const catalogueFile = z.object({
  materials: z.array(materialEntry).min(1),
  lookalikes: z.array(lookalikeEntry).default([]),
  yields: z.array(yieldEntry).default([]),
});

export type MaterialEntry = z.output<typeof materialEntry>;
export type LookalikeEntry = z.output<typeof lookalikeEntry>;
export type YieldEntry = z.output<typeof yieldEntry>;
export interface CatalogueReference {
  lookalikes?: LookalikeEntry[];
  yields?: YieldEntry[];
}

/** What a declared HS code stands for, when it is not the material's own. */
export interface DeclaredGoods {
  goods: string;
  /** The catalogue material the code belongs to, if any. */
  material?: string;
  controlled: boolean;
}

/** One catalogue or look-alike code under a declared heading. */
export interface CoveredCode extends DeclaredGoods {
  hsCode: string;
}

export interface Catalogue {
  get(code: string): MaterialEntry | undefined;
  isControlled(code: string): boolean;
  all(): MaterialEntry[];
  /**
   * Whether `hsCode` is one of the material's codes, or a longer code under one. A shorter heading
   * of one counts only when every catalogue and look-alike code under it has the material's control
   * status: 850511 covers controlled 8505111000 and uncontrolled 8505119000, so it hides the status.
   */
  hsCodeFits(material: string, hsCode: string): boolean;
  /** Every catalogue material code and look-alike code that `hsCode` is a heading of (or equal to). */
  codesUnder(hsCode: string): CoveredCode[];
  /** The goods an HS code is the code of: another catalogue material, or an uncontrolled look-alike. */
  goodsOfHsCode(hsCode: string): DeclaredGoods | undefined;
  /**
   * Max kg of `output` per kg of `input`, or undefined when the catalogue knows no such conversion:
   * the direct conversion's yield when the catalogue has one (it may be tighter than a chain: Dy
   * metal alloyed straight into a magnet, 1, against 3.45 through the alloy), else the best chain
   * of conversions (Dy oxide → Dy metal → alloy → magnet). Chains count: one kilo of concentrate
   * declared beside a run would otherwise leave its output unjudged, as an input the catalogue
   * knows no conversion for.
   */
  maxYield(input: string, output: string): number | undefined;
  /** The inputs the catalogue knows a conversion from into `output`. */
  inputsOf(output: string): string[];
}

/** HS codes nest: a 6-digit heading covers every 10-digit code that starts with it. */
export const hsCodesNest = (a: string, b: string): boolean => a.startsWith(b) || b.startsWith(a);

export function createCatalogue(entries: MaterialEntry[], reference: CatalogueReference = {}): Catalogue {
  const byCode = new Map(entries.map((e) => [e.code, e]));
  const lookalikes = reference.lookalikes ?? [];
  // By input, then output: asked for each input of every production report, where a joined key
  // string made per call cost more than the lookups.
  const yields = new Map<string, Map<string, number>>();
  for (const y of reference.yields ?? []) {
    let byOutput = yields.get(y.input);
    if (!byOutput) yields.set(y.input, (byOutput = new Map()));
    byOutput.set(y.output, y.maxKgPerKg);
  }
  /** Best yield from each input to each output over chains of conversions, worked out once per pair. */
  const chained = new Map<string, Map<string, number | undefined>>();
  const chainedYield = (input: string, output: string, visiting = new Set<string>()): number | undefined => {
    const known = chained.get(input);
    if (known?.has(output)) return known.get(output);
    // A cycle in a catalogue (none ships) bounds nothing more: ignored.
    if (visiting.has(input)) return undefined;
    visiting.add(input);
    let best: number | undefined;
    for (const [next, y] of yields.get(input) ?? []) {
      const rest = next === output ? 1 : chainedYield(next, output, visiting);
      if (rest !== undefined && (best === undefined || y * rest > best)) best = y * rest;
    }
    visiting.delete(input);
    if (!known) chained.set(input, new Map([[output, best]]));
    else known.set(output, best);
    return best;
  };
  const inputsByOutput = new Map<string, string[]>();
  for (const y of reference.yields ?? []) inputsByOutput.set(y.output, [...(inputsByOutput.get(y.output) ?? []), y.input]);
  const controlled = (code: string): boolean => {
    const entry = byCode.get(code);
    return entry === undefined || entry.controlledElements.length > 0;
  };
  const codesUnder = (heading: string): CoveredCode[] => [
    ...entries.flatMap((e) => e.hsCodes.filter((c) => c.startsWith(heading)).map((c) => ({ hsCode: c, goods: e.code, material: e.code, controlled: controlled(e.code) }))),
    ...lookalikes.filter((l) => l.hsCode.startsWith(heading)).map((l) => ({ hsCode: l.hsCode, goods: l.goods, controlled: false })),
  ];
  return {
    get: (code) => byCode.get(code),
    // An unknown material is treated as controlled: an exporter should not escape the licence
    // check by inventing a material code.
    isControlled: controlled,
    all: () => [...byCode.values()],
    hsCodeFits(material, code) {
      const own = byCode.get(material)?.hsCodes ?? [];
      if (own.some((c) => code.startsWith(c))) return true;
      return own.some((c) => c.startsWith(code)) && codesUnder(code).every((c) => c.controlled === controlled(material));
    },
    codesUnder,
    goodsOfHsCode(code) {
      // A look-alike first: 8505119000 is both NDFEB_MAGNET's code and the uncontrolled look-alike,
      // and the look-alike's wording is what an investigator needs.
      const lookalike = lookalikes.find((l) => hsCodesNest(l.hsCode, code));
      const owner = entries.find((e) => e.hsCodes.some((own) => hsCodesNest(own, code)));
      if (lookalike) return { goods: lookalike.goods, controlled: false, ...(owner && !controlled(owner.code) ? { material: owner.code } : {}) };
      if (owner) return { goods: owner.code, material: owner.code, controlled: controlled(owner.code) };
      return undefined;
    },
    maxYield: (input, output) => yields.get(input)?.get(output) ?? chainedYield(input, output),
    inputsOf: (output) => inputsByOutput.get(output) ?? [],
  };
}

export const DEFAULT_CATALOGUE_PATH = new URL('../../config/materials.json', import.meta.url);

export function loadCatalogue(path: string | URL = DEFAULT_CATALOGUE_PATH): Catalogue {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new ConfigError(`cannot read material catalogue ${String(path)}: ${(err as Error).message}`);
  }
  const parsed = catalogueFile.safeParse(raw);
  if (!parsed.success) {
    throw new ConfigError(`material catalogue ${String(path)} is invalid: ${describeIssues(parsed.error)}`);
  }
  return createCatalogue(parsed.data.materials, parsed.data);
}
