import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { RuleSet } from '../../src/config/rules-file.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { createRulesReloader, ruleChanges } from '../../src/config/rules-reloader.ts';
import { watchRulesFile } from '../../src/config/rules-watcher.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';

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

  it('says which rules a reload changed, and how', () => {
    const path = rulesFile(96);
    const { logger: captured, lines } = capturingLogger();
    const reloader = createRulesReloader(path, captured);
    let running = loadRulesFile(path);
    reloader.attach({ setRules: (r) => void (running = r), rules: () => running });
    writeFileSync(
      path,
      'version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: 48 }\n  split-shipments:\n    enabled: false\n  undervaluation:\n    bands: { MEDIUM: 0.05 }\n',
    );
    reloader.reload();
    reloader.reload(); // the same file again
    const logged = lines.filter((l) => String(l.msg).startsWith('rules reloaded'));
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({
      level: 30,
      rules: path,
      changed: { 'volume-mismatch': ['params'], 'split-shipments': ['enabled'], undervaluation: ['bands'] },
      msg: 'rules reloaded; changed: volume-mismatch (params), undervaluation (bands), split-shipments (enabled)',
    });
    expect(logged[1]).toMatchObject({ changed: {}, msg: 'rules reloaded; no rule changed' });
  });

  it('compares with the rules it last applied when the target cannot say', () => {
    const path = rulesFile(96);
    const { logger: captured, lines } = capturingLogger();
    const reloader = createRulesReloader(path, captured);
    reloader.attach({ setRules: () => undefined });
    reloader.reload(); // nothing to compare with yet
    writeFileSync(path, 'version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: 96 }\n    overrides: [{ producerId: P-9, enabled: false }]\n');
    reloader.reload();
    expect(lines.map((l) => l.msg)).toEqual(['rules reloaded', 'rules reloaded; changed: volume-mismatch (overrides)']);
  });

  it('tells added and removed rules apart from changed ones, and ignores key order', () => {
    const a = loadRulesFile(rulesFile(96));
    const b = loadRulesFile(rulesFile(96));
    expect(ruleChanges(a, b)).toEqual({ changed: {}, added: [], removed: [] });
    const fewer = { ...b, rules: b.rules.filter((r) => r.rule.id !== 'custody-gap') };
    expect(ruleChanges(a, fewer)).toEqual({ changed: {}, added: [], removed: ['custody-gap'] });
    expect(ruleChanges(fewer, a)).toEqual({ changed: {}, added: ['custody-gap'], removed: [] });
    const bumped = { ...b, rules: b.rules.map((r) => (r.rule.id === 'custody-gap' ? { ...r, rule: { ...r.rule, version: r.rule.version + 1 } } : r)) };
    expect(ruleChanges(a, bumped).changed).toEqual({ 'custody-gap': ['version'] });
  });

  it('warns when the rules file is gone, keeping the running rules', async () => {
    const path = rulesFile(96);
    const { logger: captured, lines } = capturingLogger();
    const reloader = createRulesReloader(path, captured);
    const applied: RuleSet[] = [];
    reloader.attach({ setRules: (r) => applied.push(r) });
    const watcher = watchRulesFile(path, reloader.reload, { debounceMs: 20 });
    try {
      unlinkSync(path);
      await until(() => lines.length > 0);
      expect(lines).toEqual([
        expect.objectContaining({ level: 40, rulesFile: path, msg: 'rules file is gone; keeping the running rules (a restart would refuse to start until it is back)' }),
      ]);
      expect(applied).toEqual([]);
      // Back again: reloaded.
      writeFileSync(path, 'version: 1\nrules:\n  volume-mismatch:\n    params: { graceHours: 48 }\n');
      await until(() => applied.length > 0);
      expect(applied.map(graceOf)).toEqual([48]);
    } finally {
      watcher.close();
    }
  });
});

async function until(done: () => boolean, timeoutMs = 5_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > giveUpAt) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
