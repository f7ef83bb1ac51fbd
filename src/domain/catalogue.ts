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
const catalogueFile = z.object({ materials: z.array(materialEntry).min(1) });

export type MaterialEntry = z.output<typeof materialEntry>;

export interface Catalogue {
  get(code: string): MaterialEntry | undefined;
  isControlled(code: string): boolean;
  all(): MaterialEntry[];
}

export function createCatalogue(entries: MaterialEntry[]): Catalogue {
  const byCode = new Map(entries.map((e) => [e.code, e]));
  return {
    get: (code) => byCode.get(code),
    // An unknown material is treated as controlled: an exporter should not escape the licence
    // check by inventing a material code.
    isControlled: (code) => {
      const entry = byCode.get(code);
      return entry === undefined || entry.controlledElements.length > 0;
    },
    all: () => [...byCode.values()],
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
  return createCatalogue(parsed.data.materials);
}
