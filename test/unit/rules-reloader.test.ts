import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuleSet } from '../../src/config/rules-file.ts';
import { createRulesReloader } from '../../src/config/rules-reloader.ts';
import { createLogger } from '../../src/ops/logger.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function rulesFile(graceHours: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'ree-reloader-'));
  dirs.push(dir);
  const path = join(dir, 'rules.yaml');
  writeFileSync(path, `version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: ${graceHours} }\n`);
  return path;
}

function graceOf(rules: RuleSet): unknown {
  const vm = rules.get<{ graceHours: number }>('volume-mismatch');
  return vm?.paramsFor('P-1')().graceHours;
}

describe('rules reloader', () => {
  const logger = createLogger('silent');

  it('applies a reload asked for during start-up as soon as the pipeline exists', () => {
    const path = rulesFile(96);
    const reloader = createRulesReloader(path, logger);
    reloader.reload(); // the file changed (or SIGHUP came) while the services were being reached
    const applied: RuleSet[] = [];
    reloader.attach({ setRules: (r) => applied.push(r) });
    expect(applied.map(graceOf)).toEqual([96]);
  });

  it('does nothing at attach when no reload was asked for', () => {
    const reloader = createRulesReloader(rulesFile(96), logger);
    const applied: RuleSet[] = [];
    reloader.attach({ setRules: (r) => applied.push(r) });
    expect(applied).toEqual([]);
  });

  it('keeps the running rules when the file is broken', () => {
    const path = rulesFile(96);
    const reloader = createRulesReloader(path, logger);
    const applied: RuleSet[] = [];
    reloader.attach({ setRules: (r) => applied.push(r) });
    writeFileSync(path, 'version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: -4 }\n');
    reloader.reload();
    writeFileSync(path, 'version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: 48 }\n');
    reloader.reload();
    expect(applied.map(graceOf)).toEqual([48]);
  });
});
