/**
 * The operators' rules file (YAML): which rules run, their parameters, severity bands, and
 * per-producer / per-material overrides. A file that is wrong anywhere is refused whole with a
 * message naming the line and the field, so a running detector keeps the rules it had.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';
import { z } from 'zod';
import { loadCatalogue, type Catalogue } from '../domain/catalogue.ts';
import { ConfigError } from '../errors.ts';
import { RULES } from '../rules/index.ts';
import type { ParamsFor, Rule, RuleId } from '../rules/rule.ts';
import { severityBands, type SeverityBands } from '../rules/severity.ts';

const override = z
  .object({
    producerId: z.string().min(1).optional(),
    material: z.string().min(1).optional(),
    enabled: z.boolean().optional(),
    params: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((o) => o.producerId !== undefined || o.material !== undefined, {
    message: 'an override needs producerId, material or both',
  });

const ruleEntry = z
  .object({
    enabled: z.boolean().default(true),
    bands: z.record(z.string(), z.unknown()).optional(),
    params: z.record(z.string(), z.unknown()).default({}),
    overrides: z.array(override).default([]),
  })
  .strict();

const rulesFileSchema = z
  .object({
    version: z.literal(1).default(1),
    rules: z.record(z.string(), ruleEntry.nullable()).default({}),
  })
  .strict();

type Override = z.output<typeof override>;

export interface RuleSettings<P = unknown> {
  rule: Rule<P>;
  bands: SeverityBands;
  /** Whether the rule runs for this producer (and material, when given). */
  enabled(producerId: string, material?: string): boolean;
  /** Parameters for a producer, narrowed by material. */
  paramsFor(producerId: string): ParamsFor<P>;
  /** The file's overrides, for `rules check`. */
  overrides: Override[];
  defaults: P;
}

export interface RuleSet {
  rules: RuleSettings<any>[];
  get<P>(id: RuleId): RuleSettings<P> | undefined;
  source: string;
}

/**
 * The yaml package, loaded when a rules file is first parsed: the built-in defaults (no file) need
 * no YAML, and loading the parser took ~0.1 CPU s of every replay's start-up (bench/README.md,
 * section `cpu6`). Required, not imported, as parsing is synchronous; yaml is a CommonJS package
 * under node, so this is the very module an import would give.
 */
let yamlModule: typeof Yaml | undefined;
const yaml = (): typeof Yaml => (yamlModule ??= createRequire(import.meta.url)('yaml') as typeof Yaml);

/** Zod puts an unknown key's issue on the object holding it; name the key itself, and find its line. */
function issuePath(issue: z.ZodError['issues'][number]): (string | number)[] {
  const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
  if (issue.code === 'unrecognized_keys' && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  return path;
}

/**
 * Where in the text the entry at `path` starts. A map entry is found by its key, so the line is the
 * one that names the field (a value may begin on the next line, or be absent); when the path goes
 * deeper than the document, the nearest entry above it is used.
 */
function offsetOf(doc: Yaml.Document, path: (string | number)[]): number | undefined {
  const { isMap, isScalar, isSeq } = yaml();
  for (let n = path.length; n > 0; n -= 1) {
    const parent = n === 1 ? doc.contents : doc.getIn(path.slice(0, n - 1), true);
    const segment = path[n - 1];
    if (isMap(parent)) {
      const pair = parent.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (pair && isScalar(pair.key) && pair.key.range) return pair.key.range[0];
    } else if (isSeq(parent) && typeof segment === 'number') {
      const item = parent.items[segment] as { range?: [number, number, number] } | null | undefined;
      if (item?.range) return item.range[0];
    }
  }
  return doc.contents?.range?.[0];
}

/** Specificity order: a producer+material override beats a producer one, which beats a material one. */
const specificity = (o: Override): number => (o.producerId ? 2 : 0) + (o.material ? 1 : 0);

function makeSettings<P>(rule: Rule<P>, entry: z.output<typeof ruleEntry>, where: (path: (string | number)[]) => string, materials: ReadonlySet<string>): RuleSettings<P> {
  // Strict here even if the rule's schema is not: a misspelt parameter must be refused, not
  // silently leave the default in force.
  const schema = rule.params instanceof z.ZodObject ? (rule.params.strict() as unknown as z.ZodType<P>) : rule.params;
  const parse = (raw: Record<string, unknown>, path: (string | number)[]): P => {
    const result = schema.safeParse(raw);
    if (!result.success) {
      const issue = result.error.issues[0]!;
      const full = [...path, ...issuePath(issue)];
      throw new ConfigError(`${where(full)}: ${full.join('.')}: ${issue.message}`, 'REE_ERR_RULES_FILE');
    }
    return result.data;
  };
  const bandsResult = severityBands.safeParse({ ...rule.bands, ...entry.bands });
  if (!bandsResult.success) {
    const path = ['rules', rule.id, 'bands'];
    throw new ConfigError(`${where(path)}: rules.${rule.id}.bands: ${bandsResult.error.issues[0]!.message}`, 'REE_ERR_RULES_FILE');
  }
  const defaults = parse(entry.params, ['rules', rule.id, 'params']);
  // An override for a material that does not exist would never apply: most likely a typo.
  entry.overrides.forEach((o, i) => {
    if (o.material === undefined || materials.has(o.material)) return;
    const path = ['rules', rule.id, 'overrides', i, 'material'];
    throw new ConfigError(`${where(path)}: ${path.join('.')}: unknown material "${o.material}" (the catalogue has ${[...materials].join(', ')})`, 'REE_ERR_RULES_FILE');
  });
  // Validate every override up front: a bad one must fail at load, not when its producer shows up.
  entry.overrides.forEach((o, i) => parse({ ...entry.params, ...o.params }, ['rules', rule.id, 'overrides', i, 'params']));
  const ordered = entry.overrides
    .map((o, i) => ({ o, i }))
    .sort((a, b) => specificity(a.o) - specificity(b.o) || a.i - b.i)
    .map(({ o }) => o);
  const producersWithOverrides = new Set(ordered.map((o) => o.producerId).filter((p): p is string => p !== undefined));
  const materialOverrides = ordered.filter((o) => o.producerId === undefined);
  const cache = new Map<string, P>();
  const allDefaults: ParamsFor<P> = () => defaults;

  const matching = (producerId: string, material?: string) =>
    ordered.filter(
      (o) => (o.producerId === undefined || o.producerId === producerId) && (o.material === undefined || o.material === material),
    );

  return {
    rule,
    bands: bandsResult.data,
    defaults,
    overrides: entry.overrides,
    enabled(producerId, material) {
      let on = entry.enabled;
      for (const o of matching(producerId, material)) if (o.enabled !== undefined) on = o.enabled;
      return on;
    },
    paramsFor(producerId) {
      // The common case (no override touches this producer or material) allocates nothing: one
      // function made at load, not a closure per rule per report.
      if (!producersWithOverrides.has(producerId) && materialOverrides.length === 0) return allDefaults;
      return (material) => {
        const key = `${producerId}\u0000${material ?? ''}`;
        let p = cache.get(key);
        if (!p) {
          const found = matching(producerId, material);
          p = found.length === 0 ? defaults : parse(Object.assign({}, entry.params, ...found.map((o) => o.params ?? {})), ['rules', rule.id]);
          if (cache.size > 100_000) cache.clear();
          cache.set(key, p);
        }
        return p;
      };
    },
  };
}

/** The text as a YAML document, with its line counter for messages; refused with the first syntax error's place. */
function parseYaml(text: string, source: string): { doc: Yaml.Document; lineCounter: Yaml.LineCounter } {
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    const pos = lineCounter.linePos(e.pos[0]);
    throw new ConfigError(`${source}:${pos.line}:${pos.col}: YAML syntax error: ${e.message.split('\n')[0]}`, 'REE_ERR_RULES_FILE');
  }
  return { doc, lineCounter };
}

/**
 * Parses rules-file text; `source` names the file in messages. An empty text means all defaults.
 * Overrides may only name materials of the catalogue (the shipped one unless given).
 */
export function parseRulesFile(text: string, source = 'rules file', rules: readonly Rule<any>[] = RULES, catalogue: Catalogue = loadCatalogue()): RuleSet {
  // No text (the built-in defaults): nothing to read, as an empty document reads, and no parser to load.
  const yamlText = text === '' ? undefined : parseYaml(text, source);
  const where = (path: (string | number)[]): string => {
    const offset = yamlText && offsetOf(yamlText.doc, path);
    return offset === undefined ? source : `${source}:${yamlText!.lineCounter.linePos(offset).line}`;
  };
  const raw = yamlText?.doc.toJS() ?? {};
  const parsed = rulesFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const path = issuePath(issue);
    throw new ConfigError(`${where(path)}: ${path.join('.') || '(file)'}: ${issue.message}`, 'REE_ERR_RULES_FILE');
  }
  const known = new Map(rules.map((r) => [r.id as string, r]));
  for (const id of Object.keys(parsed.data.rules)) {
    if (!known.has(id)) {
      throw new ConfigError(
        `${where(['rules', id])}: rules.${id}: no such rule in this version (known: ${[...known.keys()].join(', ')})`,
        'REE_ERR_RULES_FILE',
      );
    }
  }
  const materials = new Set(catalogue.all().map((m) => m.code));
  const settings = rules.map((rule) => {
    const entry = ruleEntry.parse(parsed.data.rules[rule.id] ?? {});
    return makeSettings(rule, entry, where, materials);
  });
  const byId = new Map(settings.map((s) => [s.rule.id, s]));
  return { rules: settings, get: (id) => byId.get(id), source };
}

export function loadRulesFile(path?: string): RuleSet {
  if (!path) return parseRulesFile('', 'built-in defaults');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read rules file ${path}: ${(err as Error).message}`, 'REE_ERR_RULES_FILE');
  }
  // An empty file is far more often a save caught half-way than a wish for all defaults.
  if (text.trim() === '') throw new ConfigError(`${path}: the rules file is empty (to run on defaults, give no rules file)`, 'REE_ERR_RULES_FILE');
  return parseRulesFile(text, path);
}
