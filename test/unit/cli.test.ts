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
      expect(run.stderr).toContain('[REE_ERR_USAGE]');
      expect(run.stderr).toContain("Unknown option '--engine'");
      expect(run.stderr).toContain(`ree-sentinel ${command}`);
    }
  });

  it('replay to an unwritable --out refuses in one line and leaves no file behind', async () => {
    const recording = file('ok.jsonl', jsonl([{ topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() }]));
    const out = join(dir, 'no-such-dir', 'alerts.jsonl');
    const run = await cli(['replay', recording, '--out', out]);
    expectOneLineRefusal(run, 'REE_ERR_INPUT_FILE');
    expect(run.stderr).toContain(out);
    expect(existsSync(`${out}.partial`)).toBe(false);
  });

  it('simulate with a bad option refuses in one line and keeps the recording that was there', async () => {
    const previous = file('previous.jsonl', 'the recording from last time\n');
    const run = await cli(['simulate', '--start', '2025-13-45', '--out', previous]);
    expectOneLineRefusal(run, 'REE_ERR_USAGE');
    expect(readFileSync(previous, 'utf8')).toBe('the recording from last time\n');
    expect(existsSync(`${previous}.partial`)).toBe(false);
  });

  it('simulate to a file in a folder that does not exist refuses in one line naming the file', async () => {
    const out = join(dir, 'no-such-folder', 'rec.jsonl');
    const run = await cli(['simulate', '--producers', '5', '--days', '1', '--out', out]);
    expectOneLineRefusal(run, 'REE_ERR_INPUT_FILE');
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
    expect(rows).toContainEqual(['volume-mismatch', '0', '1', '0', '0', '1', '1.000', '0.000', '0.000']);
    expect(rows.at(-1)).toEqual(['overall', '2', '2', '1', '1', '1', '0.500', '0.500', '0.500']);
  });
});
