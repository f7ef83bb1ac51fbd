/**
 * The CLI as a user meets it: `node bin/ree-sentinel.js ...` in a child process, judged by exit
 * code, stdout and stderr. Nothing here reaches a network service: `run` is refused before it
 * connects, and `replay` runs on in-memory state. Each spawn costs about a second (tsx compiles on
 * start), so the cases run concurrently and are kept few.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { RUN_USAGE } from '../../src/cli/run.ts';
import type { Alert } from '../../src/domain/events.ts';
import { licence, shipment } from '../helpers/builders.ts';
import { cli as runCli, type CliRun as Run } from '../helpers/cli.ts';

const TIMEOUT_MS = 30_000;

const cli = (args: string[], env: Record<string, string> = {}): Promise<Run> => runCli(args, { env, timeoutMs: TIMEOUT_MS - 5_000 });

const dir = mkdtempSync(join(tmpdir(), 'ree-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const jsonl = (rows: unknown[]) => rows.map((r) => (typeof r === 'string' ? r : JSON.stringify(r))).join('\n') + '\n';

/** A user-facing failure: one line, the code, never a stack trace. */
function expectOneLineRefusal(run: Run, code: string) {
  expect(run.code).toBe(2);
  expect(run.stderr).toContain(`[${code}]`);
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.trim().split('\n')).toHaveLength(1);
}

/** `run` logs JSON lines, its refusal too: one fatal line whose message names the problem. */
function expectOneJsonLineRefusal(run: Run, code: string): string {
  expectOneLineRefusal(run, code);
  const line = JSON.parse(run.stderr) as { level: number; msg: string };
  expect(line.level).toBe(60);
  expect(line.msg).toContain(`[${code}]`);
  return line.msg;
}

describe.concurrent('ree-sentinel CLI', { timeout: TIMEOUT_MS }, () => {
  it.each(['run', 'replay', 'record', 'simulate', 'backtest', 'rules', 'demo'])('%s --help exits 0 with its usage', async (command) => {
    const run = await cli([command, '--help']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Usage:/);
    expect(run.stdout).toContain(`ree-sentinel ${command}`);
  });

  it('--version prints the package version', async () => {
    const run = await cli(['--version']);
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`ree-sentinel ${version}\n`);
  });

  it('refuses an unknown command with exit 2 and the usage', async () => {
    const run = await cli(['frobnicate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('unknown command "frobnicate"');
    expect(run.stderr).toContain('Usage: ree-sentinel <command>');
    for (const command of ['run', 'replay', 'record', 'simulate', 'backtest', 'rules', 'demo']) expect(run.stderr).toMatch(new RegExp(`^  ${command} `, 'm'));
  });

  it('rules check prints OK and the effective parameters of a valid file', async () => {
    const path = file('ok-rules.yaml', 'rules:\n  volume-mismatch:\n    params:\n      tolerancePct: 2\n');
    const run = await cli(['rules', 'check', path]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${path}: OK`);
    // The value the file sets, and a default it leaves alone.
    expect(run.stdout).toMatch(/^\s+tolerancePct\s+2$/m);
    expect(run.stdout).toMatch(/^\s+graceHours\s+72$/m);
  });

  it('rules check refuses an invalid file with exit 2, naming file:line and the field', async () => {
    const path = file('bad-rules.yaml', 'rules:\n  volume-mismatch:\n    params:\n      tolerancePct: 1\n      graceHuors: 48\n');
    const run = await cli(['rules', 'check', path]);
    expectOneLineRefusal(run, 'REE_ERR_RULES_FILE');
    expect(run.stderr).toContain(`${path}:5:`);
    expect(run.stderr).toContain('graceHuors');
  });

  it('run refuses Avro alerts without a schema registry, naming both settings, before connecting to anything', async () => {
    const run = await cli(['run', '--registry', 'none', '--http-port', '0']);
    const message = expectOneJsonLineRefusal(run, 'REE_ERR_CONFIG');
    expect(message).toContain('SCHEMA_REGISTRY_URL');
    expect(message).toContain('REE_ALERT_FORMAT');
  });

  it('run refuses a bad KAFKA_BROKERS with one line naming it, before connecting to anything', async () => {
    const run = await cli(['run'], { KAFKA_BROKERS: 'nonsense' });
    const message = expectOneJsonLineRefusal(run, 'REE_ERR_CONFIG');
    expect(message).toContain('KAFKA_BROKERS');
    expect(message).toContain('"nonsense"');
  });

  it('run accepts every flag its help lists (a hand-kept list had refused --commit-interval)', async () => {
    // What `run --help` prints (one spawn fewer: they run concurrently under one timeout).
    const flags = [...RUN_USAGE.matchAll(/^ {2}--([a-z-]+) /gm)].map((m) => m[1]!);
    expect(flags).toContain('commit-interval');
    // Parsed before --help is looked at: an unknown flag is refused even then.
    const run = await cli(['run', ...flags.flatMap((flag) => [`--${flag}`, '1']), '--help']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
  });

  it('replay of a missing file exits 2 saying which file cannot be read', async () => {
    const path = join(dir, 'no-such-recording.jsonl');
    const run = await cli(['replay', path]);
    expectOneLineRefusal(run, 'REE_ERR_INPUT_FILE');
    expect(run.stderr).toContain(`cannot read recording ${path}`);
  });

  it('replay --out writes the alerts as JSON Lines and the summary on stderr', async () => {
    const unlicensed = shipment({ licenceId: null });
    const licensed = shipment();
    const recording = file(
      'rec.jsonl',
      jsonl([
        { topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() },
        { topic: 'ree.shipments.v1', key: 'P1', timestamp: 0, value: unlicensed },
        { topic: 'ree.shipments.v1', key: 'P1', timestamp: 0, value: licensed },
        '{"topic": "ree.shipments.v1", "value": ',
      ]),
    );
    const out = join(dir, 'alerts.jsonl');
    const run = await cli(['replay', recording, '--out', out]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('');
    const alerts = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Alert);
    expect(alerts.map((a) => [a.ruleId, a.subjectEventIds])).toEqual([['unlicensed-client', [unlicensed.reportId]]]);
    expect(alerts[0]!.alertId).toMatch(/\S/);
    expect(run.stderr).toContain('replayed 4 lines (2 reports, 1 licence records, 0 skipped)');
    expect(run.stderr).toMatch(/dead letters: 1$/m);
    expect(run.stderr).toMatch(/alerts: 1$/m);
    expect(run.stderr).toMatch(/unlicensed-client\s+1$/m);
    expect(run.stderr).toMatch(/line 4: not JSON/);
    expect(run.stderr).toMatch(/^ {2}peak memory: [1-9]\d* MB RSS$/m);
  });

  it('replay and backtest refuse --engine (the state engine is the only one) with the usage', async () => {
    const recording = file('engines.jsonl', jsonl([{ topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() }]));
    const runs = await Promise.all([
      cli(['replay', recording, '--engine', 'v2']),
      cli(['backtest', '--recording', recording, '--labels', recording, '--engine', 'v1']),
    ]);
    for (const [run, command] of [[runs[0]!, 'replay'], [runs[1]!, 'backtest']] as const) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      const lines = run.stderr.trim().split('\n');
      // The usage first, then the mistake with its code: the last line, where the terminal leaves the eye.
      expect(run.stderr).toMatch(new RegExp(`Usage:\\s+ree-sentinel ${command}`));
      expect(lines.at(-1)).toBe(`ree-sentinel ${command}: unknown option --engine [REE_ERR_USAGE]`);
    }
  });

  it('record and simulate --to-kafka with no broker to reach refuse in one line naming the brokers and the setting, and write no file', async () => {
    const out = join(dir, 'unreached.jsonl');
    // kafkajs tries to connect for ~9 s before it gives up: a loaded machine (the suite's own workers) can take twice that.
    const slowCli = (args: string[]) => runCli(args, { env: {}, timeoutMs: 55_000 });
    const [record, simulate] = await Promise.all([
      slowCli(['record', '--out', out, '--brokers', '127.0.0.1:1', '--registry', 'none']),
      slowCli(['simulate', '--to-kafka', '--format', 'json', '--producers', '5', '--days', '1', '--brokers', '127.0.0.1:1']),
    ]);
    for (const [run, command] of [[record, 'record'], [simulate, 'simulate']] as const) {
      expectOneLineRefusal(run, 'REE_ERR_UNAVAILABLE');
      expect(run.stderr).toMatch(new RegExp(`^ree-sentinel ${command}: cannot reach Kafka at 127\\.0\\.0\\.1:1: .*; check KAFKA_BROKERS \\(--brokers\\)`));
    }
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(false);
  }, 60_000);

  it('a mistyped option is refused naming the nearest one; a negative number reaches its own check; extra arguments are refused, not ignored', async () => {
    const recording = file('typo.jsonl', jsonl([{ topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() }]));
    const [typo, negative, extra, twoRules] = await Promise.all([
      cli(['replay', recording, '--outt', join(dir, 'a.jsonl')]),
      cli(['simulate', '--producers', '-3', '--out', join(dir, 'neg.jsonl')]),
      cli(['replay', recording, recording]),
      cli(['rules', 'check', recording, recording]),
    ]);
    const lastLine = (r: Run) => r.stderr.trim().split('\n').at(-1);
    for (const r of [typo, negative, extra, twoRules]) expect(r.code).toBe(2);
    expect(lastLine(typo)).toBe('ree-sentinel replay: unknown option --outt (did you mean --out?) [REE_ERR_USAGE]');
    expect(lastLine(negative)).toBe('ree-sentinel simulate: --producers must be a whole number >= 5, got "-3" [REE_ERR_USAGE]');
    expect(lastLine(extra)).toBe(`ree-sentinel replay: unexpected "${recording}": this command takes at most 1 argument besides its options [REE_ERR_USAGE]`);
    expect(lastLine(twoRules)).toBe('ree-sentinel rules: rules check reads one rules file, got 2: check each on its own [REE_ERR_USAGE]');
    expect(existsSync(join(dir, 'neg.jsonl'))).toBe(false);
  });

  it('replay to an unwritable --out refuses in one line and leaves no file behind', async () => {
    const recording = file('ok.jsonl', jsonl([{ topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() }]));
    const out = join(dir, 'no-such-dir', 'alerts.jsonl');
    const run = await cli(['replay', recording, '--out', out]);
    expectOneLineRefusal(run, 'REE_ERR_OUTPUT_FILE');
    expect(run.stderr).toContain(`cannot write alerts file ${out}: ENOENT: no such file or directory, open '${out}'`);
    expect(run.stderr).not.toContain('.partial');
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('simulate with a bad option refuses in one line and keeps the recording that was there', async () => {
    const previous = file('previous.jsonl', 'the recording from last time\n');
    const run = await cli(['simulate', '--start', '2025-13-45', '--out', previous]);
    expectOneLineRefusal(run, 'REE_ERR_USAGE');
    expect(run.stderr).toContain('--start must be a calendar date like 2025-06-02, got "2025-13-45"');
    // A day that does not exist, which Date would roll over into March.
    const rolled = await cli(['simulate', '--start', '2025-02-30', '--out', previous]);
    expectOneLineRefusal(rolled, 'REE_ERR_USAGE');
    expect(rolled.stderr).toContain('got "2025-02-30"');
    expect(readFileSync(previous, 'utf8')).toBe('the recording from last time\n');
    expect(existsSync(`${previous}.partial`)).toBe(false);
  });

  it('simulate to a file in a folder that does not exist refuses in one line naming the file', async () => {
    const out = join(dir, 'no-such-folder', 'rec.jsonl');
    const run = await cli(['simulate', '--producers', '5', '--days', '1', '--out', out]);
    expectOneLineRefusal(run, 'REE_ERR_OUTPUT_FILE');
    expect(run.stderr).toContain(`cannot write recording file ${out}`);
  });

  it('backtest --alerts --labels prints the precision / recall table', async () => {
    const alerts = file(
      'bt-alerts.jsonl',
      jsonl([
        { alertId: 'A1', ruleId: 'unlicensed-client', producerId: 'P1', subjectEventIds: ['s1'] },
        { alertId: 'A2', ruleId: 'unlicensed-client', producerId: 'P1', subjectEventIds: ['s9'] },
      ]),
    );
    const labels = file(
      'bt-labels.jsonl',
      jsonl([
        { anomalyId: 'L1', ruleId: 'unlicensed-client', producerId: 'P1', subjectEventIds: ['s1'] },
        { anomalyId: 'L2', ruleId: 'volume-mismatch', producerId: 'P2', subjectEventIds: ['s5'] },
      ]),
    );
    const run = await cli(['backtest', '--alerts', alerts, '--labels', labels]);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const rows = run.stdout.trim().split('\n').map((l) => l.trim().split(/\s+/));
    expect(rows[0]).toEqual(['rule', 'alerts', 'labels', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1']);
    expect(rows).toContainEqual(['unlicensed-client', '2', '1', '1', '1', '0', '0.500', '1.000', '0.667']);
    // No alerts: no precision to speak of, rather than a perfect 1.000.
    expect(rows).toContainEqual(['volume-mismatch', '0', '1', '0', '0', '1', '-', '0.000', '0.000']);
    expect(rows.at(-1)).toEqual(['overall', '2', '2', '1', '1', '1', '0.500', '0.500', '0.500']);

    const json = await cli(['backtest', '--alerts', alerts, '--labels', labels, '--json']);
    expect(json.code).toBe(0);
    const result = JSON.parse(json.stdout) as { rules: { ruleId: string; precision: number | null; recall: number | null }[] };
    expect(result.rules.find((r) => r.ruleId === 'volume-mismatch')).toMatchObject({ precision: null, recall: 0 });
  });

  it('demo counts and lists each alert once, at its latest revision, as its backtest table does', async () => {
    const run = await cli(['demo', '--top', '1000']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    // Seed 42's month has quota overruns that grow, so some alerts were published more than once.
    const counted = /: (\d+) alerts \((\d+) published, (\d+) of them earlier revisions\)/.exec(run.stdout);
    expect(counted).not.toBeNull();
    const [latest, published, earlier] = counted!.slice(1).map(Number) as [number, number, number];
    expect(published).toBe(latest + earlier);
    expect(earlier).toBeGreaterThan(0);
    expect(run.stdout).toContain(`The ${latest} most severe alerts:`);
    expect(run.stdout.match(/^(LOW|MEDIUM|HIGH|CRITICAL) /gm)).toHaveLength(latest);
    expect(run.stdout).toMatch(/^CRITICAL quota-overrun .* revision \d+$/m);
    const bySeverity = /All alerts by severity: (.*)/.exec(run.stdout)![1]!.split(', ').map((s) => Number(s.split(' ')[1]));
    expect(bySeverity.reduce((a, b) => a + b, 0)).toBe(latest);
    expect(run.stdout).toMatch(new RegExp(`^overall\\s+${latest}\\s`, 'm'));
  });
});
