import { describe, expect, it } from 'vitest';
import { loadRulesFile, parseRulesFile } from '../../src/config/rules-file.ts';
import { ConfigError } from '../../src/errors.ts';
import { licenceQuotaParams } from '../../src/rules/licence-quota-exceeded.ts';
import { RULES } from '../../src/rules/index.ts';
import { unlicensedClientParams } from '../../src/rules/unlicensed-client.ts';
import { volumeMismatch, volumeMismatchParams, type VolumeMismatchParams } from '../../src/rules/volume-mismatch.ts';

const FILE = 'rules.yaml';
/** Rules-file text from lines, so a test can say which line a fault is on. */
const yaml = (...lines: string[]): string => `${lines.join('\n')}\n`;
const vm = (text: string) => parseRulesFile(text, FILE).get<VolumeMismatchParams>('volume-mismatch')!;

function refusal(text: string): ConfigError {
  try {
    parseRulesFile(text, FILE);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('REE_ERR_RULES_FILE');
    return err as ConfigError;
  }
  throw new Error('expected the rules file to be refused');
}

describe('rules file defaults', () => {
  it.each([
    ['an empty file', ''],
    ['a file with only comments', '# nothing tuned yet\n'],
    ['an empty rules map', 'version: 1\nrules: {}\n'],
    ['a rule named with no settings', 'rules:\n  volume-mismatch:\n'],
  ])('%s runs every rule with its defaults', (_, text) => {
    const set = parseRulesFile(text, FILE);
    expect(set.rules.map((s) => s.rule.id)).toEqual(RULES.map((r) => r.id));
    expect(set.source).toBe(FILE);
    for (const s of set.rules) {
      expect(s.enabled('P1')).toBe(true);
      expect(s.enabled('P1', 'DY_OXIDE')).toBe(true);
    }
    expect(set.get('volume-mismatch')!.paramsFor('P1')('DY_OXIDE')).toEqual(volumeMismatchParams.parse({}));
    expect(set.get('unlicensed-client')!.paramsFor('P1')()).toEqual(unlicensedClientParams.parse({}));
    expect(set.get('licence-quota-exceeded')!.paramsFor('P1')()).toEqual(licenceQuotaParams.parse({}));
    expect(set.get('volume-mismatch')!.bands).toEqual({ MEDIUM: 0.1, HIGH: 0.3, CRITICAL: 0.6 });
    expect(set.get('unlicensed-client')!.bands).toEqual({ MEDIUM: 0.3, HIGH: 0.6, CRITICAL: 0.85 });
  });

  it('uses the built-in defaults when no file is given', () => {
    const set = loadRulesFile();
    expect(set.source).toBe('built-in defaults');
    expect(set.get('volume-mismatch')!.defaults).toEqual(volumeMismatchParams.parse({}));
  });

  it('answers undefined for a rule this version does not run', () => {
    // A build that runs volume-mismatch only does not answer for split-shipments.
    expect(parseRulesFile('', FILE, [volumeMismatch]).get('split-shipments')).toBeUndefined();
    expect(parseRulesFile('', FILE, [volumeMismatch]).get('volume-mismatch')).toBeDefined();
  });
});

describe('rules file overrides', () => {
  it('takes rule-wide parameters and bands, keeping defaults for what it does not name', () => {
    const s = vm(yaml('rules:', '  volume-mismatch:', '    params:', '      tolerancePct: 1', '    bands:', '      CRITICAL: 0.9'));
    expect(s.paramsFor('P1')('DY_OXIDE')).toEqual({ graceHours: 72, tolerancePct: 1, toleranceKg: 5 });
    expect(s.bands).toEqual({ MEDIUM: 0.1, HIGH: 0.3, CRITICAL: 0.9 });
  });

  const layered = yaml(
    'rules:',
    '  volume-mismatch:',
    '    params: { graceHours: 48 }',
    '    overrides:',
    // Listed most specific first, to show that the order in the file does not decide.
    '      - { producerId: P1, material: DY_OXIDE, params: { tolerancePct: 3 } }',
    '      - { producerId: P1, params: { tolerancePct: 2, toleranceKg: 20 } }',
    '      - { material: DY_OXIDE, params: { tolerancePct: 1, graceHours: 96 } }',
  );

  it.each([
    ['no override applies', 'P2', 'NDPR_OXIDE', { graceHours: 48, tolerancePct: 0.5, toleranceKg: 5 }],
    ['a material override', 'P2', 'DY_OXIDE', { graceHours: 96, tolerancePct: 1, toleranceKg: 5 }],
    ['a producer override', 'P1', 'NDPR_OXIDE', { graceHours: 48, tolerancePct: 2, toleranceKg: 20 }],
    ['a producer override with no material named', 'P1', undefined, { graceHours: 48, tolerancePct: 2, toleranceKg: 20 }],
    // Producer+material beats producer beats material; each layer keeps what the more specific one leaves alone.
    ['all three, most specific winning', 'P1', 'DY_OXIDE', { graceHours: 96, tolerancePct: 3, toleranceKg: 20 }],
  ])('%s (%s, %s)', (_, producer, material, expected) => {
    expect(vm(layered).paramsFor(producer)(material)).toEqual(expected);
  });

  it('lets the later of two equally specific overrides win', () => {
    const s = vm(
      yaml(
        'rules:',
        '  volume-mismatch:',
        '    overrides:',
        '      - { material: DY_OXIDE, params: { tolerancePct: 1 } }',
        '      - { material: DY_OXIDE, params: { tolerancePct: 2 } }',
      ),
    );
    expect(s.paramsFor('P1')('DY_OXIDE').tolerancePct).toBe(2);
  });

  it('gives the same answer on repeated lookups', () => {
    const s = vm(layered);
    const first = s.paramsFor('P1')('DY_OXIDE');
    expect(s.paramsFor('P1')('DY_OXIDE')).toEqual(first);
    expect(s.paramsFor('P1')('TB_OXIDE')).toEqual({ graceHours: 48, tolerancePct: 2, toleranceKg: 20 });
  });

  it('disables a rule for one producer only', () => {
    const s = vm(yaml('rules:', '  volume-mismatch:', '    overrides:', '      - { producerId: P9, enabled: false }'));
    expect(s.enabled('P9')).toBe(false);
    expect(s.enabled('P9', 'DY_OXIDE')).toBe(false);
    expect(s.enabled('P1')).toBe(true);
  });

  it('disables a rule for one material, and re-enables it for one producer of that material', () => {
    const s = vm(
      yaml(
        'rules:',
        '  volume-mismatch:',
        '    overrides:',
        '      - { producerId: P1, enabled: true }',
        '      - { material: REE_CONCENTRATE, enabled: false }',
      ),
    );
    expect(s.enabled('P2', 'REE_CONCENTRATE')).toBe(false);
    expect(s.enabled('P2', 'DY_OXIDE')).toBe(true);
    expect(s.enabled('P1', 'REE_CONCENTRATE')).toBe(true);
  });

  it('turns a rule off everywhere but for the producers an override names', () => {
    const s = vm(
      yaml('rules:', '  volume-mismatch:', '    enabled: false', '    overrides:', '      - { producerId: P1, material: DY_OXIDE, enabled: true }'),
    );
    expect(s.enabled('P2', 'DY_OXIDE')).toBe(false);
    expect(s.enabled('P1', 'TB_OXIDE')).toBe(false);
    expect(s.enabled('P1', 'DY_OXIDE')).toBe(true);
  });
});

describe('rules file refusals name the file, the line and the field', () => {
  it.each([
    [
      'an unknown rule id',
      yaml('version: 1', 'rules:', '  volume-mismatch:', '    enabled: true', '  volume-mismach:', '    enabled: false'),
      5,
      'rules.volume-mismach',
    ],
    ['an unknown rule id with no settings', yaml('rules:', '  split-shipment:'), 2, 'rules.split-shipment'],
    [
      'an unknown key in a rule entry',
      yaml('rules:', '  volume-mismatch:', '    enabled: true', '    tolerancePct: 1'),
      4,
      'rules.volume-mismatch.tolerancePct',
    ],
    [
      'an unknown parameter (a typo would otherwise silently keep the default)',
      yaml('rules:', '  volume-mismatch:', '    params:', '      graceHours: 24', '      tolerancePc: 1'),
      5,
      'rules.volume-mismatch.params.tolerancePc',
    ],
    [
      'an unknown parameter in an override',
      yaml('rules:', '  volume-mismatch:', '    overrides:', '      - producerId: P1', '        params:', '          graceHour: 24'),
      6,
      'rules.volume-mismatch.overrides.0.params.graceHour',
    ],
    [
      'an unknown key in an override',
      yaml('rules:', '  volume-mismatch:', '    overrides:', '      - producerId: P1', '        disabled: true'),
      5,
      'rules.volume-mismatch.overrides.0.disabled',
    ],
    ['an unknown top-level key', yaml('version: 1', 'rule:', '  volume-mismatch: {}'), 2, 'rule'],
    [
      'a parameter of the wrong type',
      yaml('rules:', '  volume-mismatch:', '    params:', '      graceHours: 24', '      tolerancePct: lots'),
      5,
      'rules.volume-mismatch.params.tolerancePct',
    ],
    [
      'a negative tolerance',
      yaml('rules:', '  licence-quota-exceeded:', '    params:', '      tolerancePct: -5'),
      4,
      'rules.licence-quota-exceeded.params.tolerancePct',
    ],
    [
      'a negative floor in the second override',
      yaml(
        'rules:',
        '  volume-mismatch:',
        '    overrides:',
        '      - { material: DY_OXIDE, params: { tolerancePct: 1 } }',
        '      - producerId: P1',
        '        params:',
        '          toleranceKg: -3',
      ),
      7,
      'rules.volume-mismatch.overrides.1.params.toleranceKg',
    ],
    [
      'a validity tolerance over its range',
      yaml('rules:', '  unlicensed-client:', '    params: { validityToleranceHours: 10000 }'),
      3,
      'rules.unlicensed-client.params.validityToleranceHours',
    ],
    ['enabled that is not a boolean', yaml('rules:', '  unlicensed-client:', '    enabled: nope'), 3, 'rules.unlicensed-client.enabled'],
    [
      'an override that names neither producer nor material',
      yaml('rules:', '  volume-mismatch:', '    overrides:', '      - params: { tolerancePct: 1 }'),
      4,
      'rules.volume-mismatch.overrides.0',
    ],
    [
      'an override for a material the catalogue does not have',
      yaml('rules:', '  volume-mismatch:', '    overrides:', '      - { producerId: P1, enabled: false }', '      - { material: DY_OXIED, params: { tolerancePct: 1 } }'),
      5,
      'rules.volume-mismatch.overrides.1.material',
    ],
    [
      'severity bands that fall',
      yaml('rules:', '  unlicensed-client:', '    bands:', '      MEDIUM: 0.9'),
      3,
      'rules.unlicensed-client.bands',
    ],
    ['an unsupported version', yaml('# tuned 2025-06', 'version: 2'), 2, 'version'],
  ])('%s', (_, text, line, field) => {
    const err = refusal(text);
    expect(err.message).toMatch(new RegExp(`^${FILE}:${line}\\b`));
    expect(err.message).toContain(`${field}:`);
  });

  it('reports a YAML syntax error with its line and column', () => {
    const err = refusal(yaml('rules:', '  volume-mismatch:', '    params: { tolerancePct: 1', '  unlicensed-client: {}'));
    expect(err.message).toMatch(new RegExp(`^${FILE}:\\d+:\\d+: YAML syntax error`));
  });

  it('names the unknown material and the ones the catalogue has', () => {
    const err = refusal(yaml('rules:', '  unlicensed-client:', '    overrides:', '      - { material: NDFEB_DY_MAGENT, enabled: false }'));
    expect(err.message).toContain('unknown material "NDFEB_DY_MAGENT"');
    expect(err.message).toContain('NDFEB_DY_MAGNET');
  });

  it('lists the rules it knows when the id is unknown', () => {
    expect(refusal(yaml('rules:', '  volume-mismach: {}')).message).toContain('volume-mismatch, unlicensed-client, licence-quota-exceeded');
  });
});

describe('rules file on disk', () => {
  it('refuses an empty file: a half-written save must not silently reset every rule to defaults', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const path = join(mkdtempSync(join(tmpdir(), 'ree-rules-')), 'rules.yaml');
    writeFileSync(path, '  \n');
    expect(() => loadRulesFile(path)).toThrow(ConfigError);
    expect(() => loadRulesFile(path)).toThrow(/rules\.yaml: the rules file is empty/);
    expect(loadRulesFile(undefined).source).toBe('built-in defaults');
  });
});
