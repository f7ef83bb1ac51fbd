/**
 * Backtest scoring on hand-made alerts and labels. Every number is worked out by hand in the test,
 * so a change to the matching rule or the arithmetic shows up as a different count, not a drift.
 * Inputs go through real JSON Lines files, as `backtest --alerts --labels` reads them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { diffAlerts } from '../../src/backtest/diff.ts';
import { readAlertsFile, readLabelsFile } from '../../src/backtest/files.ts';
import { backtest, formatBacktestTable, latestRevisions, type Label, type RuleScore, type ScoredAlert } from '../../src/backtest/score.ts';
import { ReeError } from '../../src/errors.ts';

const dir = mkdtempSync(join(tmpdir(), 'ree-backtest-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function jsonl(name: string, lines: (object | string)[]): string {
  const path = join(dir, `${(files += 1)}-${name}`);
  writeFileSync(path, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return path;
}

const alert = (alertId: string, ruleId: string, producerId: string, subjectEventIds: string[]): ScoredAlert => ({ alertId, ruleId, producerId, subjectEventIds });
const label = (anomalyId: string, ruleId: string, producerId: string, subjectEventIds: string[]): Label => ({ anomalyId, ruleId, producerId, subjectEventIds });

async function scoreFiles(alerts: ScoredAlert[], labels: Label[]) {
  return backtest(await readAlertsFile(jsonl('alerts.jsonl', alerts)), await readLabelsFile(jsonl('labels.jsonl', labels)));
}

/** The counts of a score, and its ratios to 4 places: hand-computed fractions like 2/3 are not exact. */
function expectScore(actual: RuleScore | undefined, expected: Omit<RuleScore, 'ruleId'>) {
  expect(actual).toBeDefined();
  const { precision, recall, f1, ...counts } = expected;
  expect(actual).toMatchObject(counts);
  const expectRatio = (got: number | null, want: number | null) => (want === null ? expect(got).toBeNull() : expect(got).toBeCloseTo(want, 4));
  expectRatio(actual!.precision, precision);
  expectRatio(actual!.recall, recall);
  expectRatio(actual!.f1, f1);
}

const byRule = (rules: RuleScore[], ruleId: string) => rules.find((r) => r.ruleId === ruleId);

describe('backtest arithmetic', () => {
  const labels = [
    label('L1', 'unlicensed-client', 'P1', ['s1']),
    label('L2', 'unlicensed-client', 'P1', ['s2']),
    label('L3', 'volume-mismatch', 'P2', ['s3', 's4']),
    label('L4', 'reporting-gap', 'P3', ['g1']),
    label('L5', 'licence-quota-exceeded', 'P1', ['s9']),
  ];
  const alerts = [
    alert('A1', 'unlicensed-client', 'P1', ['s1']), // detects L1
    alert('A2', 'unlicensed-client', 'P1', ['s7']), // same rule and producer, no shared report: FP
    alert('A3', 'volume-mismatch', 'P2', ['s4', 's5']), // shares s4 with L3
    alert('A4', 'volume-mismatch', 'P1', ['s1']), // shares s1 with L1, but another rule: FP
    alert('A5', 'reporting-gap', 'P3', []), // producer-level: matches L4 by producer alone
    alert('A6', 'reporting-gap', 'P4', ['g1']), // shares g1 with L4, but another producer: FP
  ];

  it('counts TP, FP and FN per rule and overall, with precision, recall and F1 as computed by hand', async () => {
    const result = await scoreFiles(alerts, labels);
    expect(result.rules.map((r) => r.ruleId)).toEqual(['licence-quota-exceeded', 'reporting-gap', 'unlicensed-client', 'volume-mismatch']);
    // 1 of 2 alerts right, 1 of 2 labels found.
    expectScore(byRule(result.rules, 'unlicensed-client'), { alerts: 2, labels: 2, truePositives: 1, falsePositives: 1, detected: 1, missed: 1, precision: 0.5, recall: 0.5, f1: 0.5 });
    // 1 of 2 alerts right, the only label found: F1 = 2·½·1 / (½+1) = 2/3.
    expectScore(byRule(result.rules, 'volume-mismatch'), { alerts: 2, labels: 1, truePositives: 1, falsePositives: 1, detected: 1, missed: 0, precision: 0.5, recall: 1, f1: 2 / 3 });
    expectScore(byRule(result.rules, 'reporting-gap'), { alerts: 2, labels: 1, truePositives: 1, falsePositives: 1, detected: 1, missed: 0, precision: 0.5, recall: 1, f1: 2 / 3 });
    // No alerts: precision is undefined (null, not a perfect 1), recall 0, so F1 is 0.
    expectScore(byRule(result.rules, 'licence-quota-exceeded'), { alerts: 0, labels: 1, truePositives: 0, falsePositives: 0, detected: 0, missed: 1, precision: null, recall: 0, f1: 0 });
    // 3 of 6 alerts right, 3 of 5 labels found: F1 = 2·0.5·0.6 / 1.1 = 6/11.
    expectScore(result.overall, { alerts: 6, labels: 5, truePositives: 3, falsePositives: 3, detected: 3, missed: 2, precision: 0.5, recall: 0.6, f1: 6 / 11 });
    expect(result.overall.ruleId).toBe('overall');
    expect(result.unmatchedAlerts).toEqual(['A2', 'A4', 'A6']);
    expect(result.missedLabels).toEqual(['L2', 'L5']);
  });

  it('adds the rules up to the overall row', async () => {
    const result = await scoreFiles(alerts, labels);
    const sum = (k: keyof RuleScore) => result.rules.reduce((n, r) => n + (r[k] as number), 0);
    for (const k of ['alerts', 'labels', 'truePositives', 'falsePositives', 'detected', 'missed'] as const) expect(result.overall[k]).toBe(sum(k));
  });

  it('matches only when the ruleIds are equal and the subject reports intersect', () => {
    const l = [label('L', 'unlicensed-client', 'P1', ['s1', 's2'])];
    expect(backtest([alert('A', 'unlicensed-client', 'P1', ['s2'])], l).overall.truePositives).toBe(1);
    expect(backtest([alert('A', 'unlicensed-client', 'P1', ['s3'])], l).overall.truePositives).toBe(0);
    expect(backtest([alert('A', 'destination-mismatch', 'P1', ['s1'])], l).overall.truePositives).toBe(0);
    // The subject decides, not the producer: a report-level alert naming the report under another producer still matches.
    expect(backtest([alert('A', 'unlicensed-client', 'P2', ['s1'])], l).overall.truePositives).toBe(1);
  });

  it('matches a producer-level rule by producerId whatever the subject reports', () => {
    const l = [label('L', 'reporting-gap', 'P3', ['g1'])];
    expect(backtest([alert('A', 'reporting-gap', 'P3', ['other'])], l).overall.detected).toBe(1);
    expect(backtest([alert('A', 'reporting-gap', 'P3', [])], l).overall.detected).toBe(1);
    expect(backtest([alert('A', 'reporting-gap', 'P4', ['g1'])], l).overall.detected).toBe(0);
    // Same producer is not enough for another rule.
    expect(backtest([alert('A', 'volume-mismatch', 'P3', ['g1'])], l).overall.detected).toBe(0);
  });

  it('counts an alert that detects two labels as one true positive and two detections', async () => {
    const result = await scoreFiles(
      [alert('A', 'split-shipments', 'P1', ['s1', 's2', 's3'])],
      [label('L1', 'split-shipments', 'P1', ['s1']), label('L2', 'split-shipments', 'P1', ['s3', 's4'])],
    );
    expectScore(result.overall, { alerts: 1, labels: 2, truePositives: 1, falsePositives: 0, detected: 2, missed: 0, precision: 1, recall: 1, f1: 1 });
  });

  it('counts two alerts that detect one label as two true positives and one detection', async () => {
    const result = await scoreFiles(
      [alert('A1', 'volume-mismatch', 'P1', ['s1']), alert('A2', 'volume-mismatch', 'P1', ['s2'])],
      [label('L', 'volume-mismatch', 'P1', ['s1', 's2'])],
    );
    expectScore(result.overall, { alerts: 2, labels: 1, truePositives: 2, falsePositives: 0, detected: 1, missed: 0, precision: 1, recall: 1, f1: 1 });
  });

  it('scores empty inputs without dividing by zero: a ratio with nothing to divide by is null', async () => {
    const none = await scoreFiles([], []);
    expect(none.rules).toEqual([]);
    expectScore(none.overall, { alerts: 0, labels: 0, truePositives: 0, falsePositives: 0, detected: 0, missed: 0, precision: null, recall: null, f1: null });

    const noLabels = backtest([alert('A', 'volume-mismatch', 'P1', ['s1'])], []);
    expectScore(noLabels.overall, { alerts: 1, labels: 0, truePositives: 0, falsePositives: 1, detected: 0, missed: 0, precision: 0, recall: null, f1: 0 });

    const noAlerts = backtest([], [label('L', 'volume-mismatch', 'P1', ['s1'])]);
    expectScore(noAlerts.overall, { alerts: 0, labels: 1, truePositives: 0, falsePositives: 0, detected: 0, missed: 1, precision: null, recall: 0, f1: 0 });

    for (const r of [none.overall, noLabels.overall, noAlerts.overall]) {
      for (const x of [r.precision, r.recall, r.f1]) expect(x === null || Number.isFinite(x)).toBe(true);
    }
    // --json prints the result as it is: null, never NaN (which JSON would also print as null) or a made-up 1.
    expect(JSON.parse(JSON.stringify(noAlerts.overall))).toMatchObject({ precision: null, recall: 0, f1: 0 });
  });

  it('scores each alert id once, at its highest revision', () => {
    // Revision 1 names only s1; revision 2 has grown to s2, which the label names.
    const first = { ...alert('A', 'split-shipments', 'P1', ['s1']), revision: 1 };
    const grown = { ...alert('A', 'split-shipments', 'P1', ['s1', 's2']), revision: 2 };
    const other = alert('B', 'split-shipments', 'P1', ['s9']);
    expect(latestRevisions([first, other, grown, first])).toEqual([grown, other]);
    const result = backtest([grown, first, other], [label('L', 'split-shipments', 'P1', ['s2'])]);
    expectScore(result.overall, { alerts: 2, labels: 1, truePositives: 1, falsePositives: 1, detected: 1, missed: 0, precision: 0.5, recall: 1, f1: 2 / 3 });
  });

  it('counts an alert or a label that appears twice once (by alertId, by anomalyId)', () => {
    // At-least-once delivery means a recorded alerts topic can hold the same alert twice.
    const a = alert('A', 'volume-mismatch', 'P1', ['s1']);
    const stray = alert('B', 'volume-mismatch', 'P1', ['s9']);
    const l = label('L', 'volume-mismatch', 'P1', ['s1']);
    const result = backtest([a, a, stray, stray], [l, l]);
    expectScore(result.overall, { alerts: 2, labels: 1, truePositives: 1, falsePositives: 1, detected: 1, missed: 0, precision: 0.5, recall: 1, f1: 2 / 3 });
    expectScore(result.rules[0], { alerts: 2, labels: 1, truePositives: 1, falsePositives: 1, detected: 1, missed: 0, precision: 0.5, recall: 1, f1: 2 / 3 });
    expect(result.unmatchedAlerts).toEqual(['B']);
  });
});

describe('formatBacktestTable', () => {
  it('prints one row per rule in id order, then the overall row below a rule line', () => {
    const result = backtest(
      [alert('A1', 'volume-mismatch', 'P1', ['s1']), alert('A2', 'unlicensed-client', 'P1', ['s7'])],
      [label('L1', 'volume-mismatch', 'P1', ['s1']), label('L2', 'unlicensed-client', 'P1', ['s2'])],
    );
    const lines = formatBacktestTable(result).split('\n');
    expect(lines).toHaveLength(6);
    expect(lines[0]!.split(/\s+/)).toEqual(['rule', 'alerts', 'labels', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1']);
    expect(lines[1]).toMatch(/^[- ]+$/);
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['unlicensed-client', '1', '1', '0', '1', '1', '0.000', '0.000', '0.000']);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['volume-mismatch', '1', '1', '1', '0', '0', '1.000', '1.000', '1.000']);
    expect(lines[4]).toBe(lines[1]);
    expect(lines[5]!.trim().split(/\s+/)).toEqual(['overall', '2', '2', '1', '1', '1', '0.500', '0.500', '0.500']);
    // Columns line up: every line is as wide as the header.
    for (const l of lines) expect(l.trimEnd().length).toBeLessThanOrEqual(lines[0]!.length);
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });

  it('prints only the overall row when there is nothing to score, its ratios as "-"', () => {
    const lines = formatBacktestTable(backtest([], [])).split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['overall', '0', '0', '0', '0', '0', '-', '-', '-']);
  });

  it('prints "-" for the precision of a rule with no alerts and the recall of a rule with no labels', () => {
    const result = backtest([alert('A1', 'volume-mismatch', 'P1', ['s1'])], [label('L1', 'undervaluation', 'P1', ['s2'])]);
    const lines = formatBacktestTable(result).split('\n');
    expect(lines[2]!.trim().split(/\s+/)).toEqual(['undervaluation', '0', '1', '0', '0', '1', '-', '0.000', '0.000']);
    expect(lines[3]!.trim().split(/\s+/)).toEqual(['volume-mismatch', '1', '0', '0', '1', '0', '0.000', '-', '0.000']);
    // Right-aligned like the numbers, so the columns still line up.
    expect(new Set(lines.map((l) => l.length)).size).toBe(1);
  });
});

describe('alerts and labels files', () => {
  async function refusal(read: Promise<unknown>): Promise<ReeError> {
    const err = await read.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ReeError);
    expect((err as ReeError).code).toBe('REE_ERR_INPUT_FILE');
    return err as ReeError;
  }

  it('reads full Alert objects, skipping blank lines', async () => {
    const full = { ...alert('A1', 'volume-mismatch', 'P1', ['s1']), ruleVersion: 1, severity: 'HIGH', score: 0.7, summary: 'x', evidence: {}, eventTime: 1, detectedAt: 2 };
    const path = jsonl('alerts.jsonl', [full, '', '   ', alert('A2', 'volume-mismatch', 'P1', [])]);
    expect((await readAlertsFile(path)).map((a) => a.alertId)).toEqual(['A1', 'A2']);
  });

  it.each([
    ['a line that is not JSON', '{"alertId": "A2",', 'not JSON'],
    ['a JSON value that is not an object', '42', 'not a JSON object'],
    ['a missing field', JSON.stringify({ alertId: 'A2', ruleId: 'volume-mismatch', subjectEventIds: [] }), 'producerId'],
    ['subjectEventIds that is not an array', JSON.stringify({ ...alert('A2', 'volume-mismatch', 'P1', []), subjectEventIds: 's1' }), 'subjectEventIds'],
  ])('refuses an alerts file with %s, naming file:line', async (_, bad, says) => {
    // Line 3 after a good line and a blank one: the blank still counts, as an editor shows it.
    const path = jsonl('alerts.jsonl', [alert('A1', 'volume-mismatch', 'P1', ['s1']), '', bad]);
    const err = await refusal(readAlertsFile(path));
    expect(err.message).toContain(`${path}:3:`);
    expect(err.message).toContain(says);
  });

  it('refuses a labels file with a bad line, naming file:line and the field', async () => {
    const path = jsonl('labels.jsonl', [label('L1', 'volume-mismatch', 'P1', ['s1']), { anomalyId: 'L2', ruleId: 7, producerId: 'P1', subjectEventIds: [] }]);
    const err = await refusal(readLabelsFile(path));
    expect(err.message).toContain(`${path}:2:`);
    expect(err.message).toContain('ruleId');
    expect(err.message).toContain('label');
  });

  it('refuses a file that does not exist, naming it', async () => {
    const path = join(dir, 'no-such-labels.jsonl');
    const err = await refusal(readLabelsFile(path));
    expect(err.message).toContain(path);
  });
});

describe('comparing the alerts of two rule sets', () => {
  const alert = (alertId: string, severity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL', score: number) => ({
    alertId,
    ruleId: 'volume-mismatch',
    producerId: 'P-1',
    subjectEventIds: [`r-${alertId}`],
    severity,
    score,
  });

  it('tells added, removed, severity changed and kept apart', () => {
    const before = [alert('a', 'HIGH', 0.4), alert('b', 'MEDIUM', 0.2), alert('c', 'LOW', 0.05), alert('d', 'HIGH', 0.35)];
    const after = [alert('a', 'HIGH', 0.45), alert('b', 'HIGH', 0.31), alert('d', 'HIGH', 0.35), alert('e', 'CRITICAL', 0.9)];
    const diff = diffAlerts(before, after);
    expect(diff.added.map((a) => a.alertId)).toEqual(['e']);
    expect(diff.removed.map((a) => a.alertId)).toEqual(['c']);
    expect(diff.severityChanged.map(({ before: x, after: y }) => [x.alertId, x.severity, y.severity])).toEqual([['b', 'MEDIUM', 'HIGH']]);
    // A score that moves within its severity band is the same alert as far as anyone acting on it is concerned.
    expect(diff.kept).toBe(2);
  });
});
