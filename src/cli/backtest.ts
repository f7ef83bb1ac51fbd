/**
 * `ree-sentinel backtest`: how well the rules find labelled anomalies, and what a rules change
 * would add or remove before it is rolled out.
 */
import { readAlertsFile, readLabelsFile } from '../backtest/files.ts';
import { diffAlerts } from '../backtest/diff.ts';
import { backtest, formatBacktestTable, PRODUCER_LEVEL_RULES, type ScoredAlert } from '../backtest/score.ts';
import { loadRulesFile, type RuleSet } from '../config/rules-file.ts';
import { loadCatalogue } from '../domain/catalogue.ts';
import type { Alert } from '../domain/events.ts';
import { ReeError } from '../errors.ts';
import { readRecording } from '../pipeline/recording.ts';
import { replayLines } from '../pipeline/replay.ts';
import { createEngineMemoryStore } from '../state/engine-store.ts';
import { parseCommandArgs } from './args.ts';

export const BACKTEST_USAGE = `Usage:
  ree-sentinel backtest --alerts alerts.jsonl --labels labels.jsonl [--json]
  ree-sentinel backtest --recording rec.jsonl --labels labels.jsonl [--rules a.yaml] [--compare b.yaml] [--json]

Scores alerts against labels: an alert detects a label when the ruleIds are equal and their
subjectEventIds intersect; for ${[...PRODUCER_LEVEL_RULES].join(', ')}, judged per producer, when the producerIds
are equal instead. Each alertId counts once, at its latest revision. Prints precision, recall
and F1 per rule and overall; "-" (null with --json) where there is nothing to divide by:
precision with no alerts, recall with no labels.
With --recording the recording is replayed (in memory) with --rules first; --compare replays it
again with another rules file and lists the alerts the change adds, removes and raises or lowers
in severity.

Options:
  --alerts <file>      alerts (JSON Lines, e.g. from replay --out)
  --recording <file>   a recording to replay instead of an alerts file
  --labels <file>      labels (JSON Lines, written by simulate --labels)
  --rules <file>       rules for the replay (default: REE_RULES_FILE, else the built-in defaults)
  --compare <file>     a second rules file to compare against --rules
  --json               machine-readable output
  -h, --help           this help`;

async function replayForAlerts(path: string, rules: RuleSet): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await replayLines(readRecording(path).lines, {
    store: createEngineMemoryStore(),
    rules,
    catalogue: loadCatalogue(),
    onAlerts: (batch) => void alerts.push(...batch),
  });
  return alerts;
}

export async function backtestCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    { alerts: { type: 'string' }, recording: { type: 'string' }, labels: { type: 'string' }, rules: { type: 'string' }, compare: { type: 'string' }, json: { type: 'boolean' } },
    BACKTEST_USAGE,
  );
  if (values.help) {
    console.log(BACKTEST_USAGE);
    return 0;
  }
  const labelsPath = values.labels as string | undefined;
  if (!labelsPath) throw new ReeError('REE_ERR_USAGE', `--labels is required\n\n${BACKTEST_USAGE}`);
  if (Boolean(values.alerts) === Boolean(values.recording)) throw new ReeError('REE_ERR_USAGE', `give either --alerts or --recording\n\n${BACKTEST_USAGE}`);
  if (values.compare && !values.recording) throw new ReeError('REE_ERR_USAGE', '--compare needs --recording: both rule sets are replayed over it');

  const labels = await readLabelsFile(labelsPath);
  const rulesA = loadRulesFile((values.rules as string | undefined) ?? process.env.REE_RULES_FILE);
  const replayedA = values.recording ? await replayForAlerts(values.recording as string, rulesA) : undefined;
  const alertsA: ScoredAlert[] = replayedA ?? (await readAlertsFile(values.alerts as string));
  const resultA = backtest(alertsA, labels);

  if (!values.compare || !replayedA) {
    if (values.json) console.log(JSON.stringify(resultA, null, 2));
    else console.log(formatBacktestTable(resultA));
    return 0;
  }
  const rulesB = loadRulesFile(values.compare as string);
  const alertsB = await replayForAlerts(values.recording as string, rulesB);
  const resultB = backtest(alertsB, labels);
  const diff = diffAlerts(replayedA, alertsB);
  const labelled = new Set(resultB.unmatchedAlerts);
  if (values.json) {
    const severityChanged = diff.severityChanged.map(({ before, after }) => ({ ...after, severityBefore: before.severity, scoreBefore: before.score }));
    console.log(JSON.stringify({ before: resultA, after: resultB, added: diff.added, removed: diff.removed, severityChanged }, null, 2));
    return 0;
  }
  console.log(`Before (${rulesA.source}):\n${formatBacktestTable(resultA)}\n`);
  console.log(`After (${rulesB.source}):\n${formatBacktestTable(resultB)}\n`);
  console.log(
    `The change adds ${diff.added.length} alerts, removes ${diff.removed.length}, changes the severity of ${diff.severityChanged.length}, keeps ${diff.kept} as they were.`,
  );
  const show = (title: string, list: ScoredAlert[], tag: (a: ScoredAlert) => string) => {
    if (list.length === 0) return;
    console.log(`\n${title}:`);
    for (const a of list.slice(0, 20)) console.log(`  ${tag(a)} ${a.ruleId.padEnd(22)} ${a.producerId.padEnd(8)} ${(a as Alert).summary ?? a.alertId}`);
    if (list.length > 20) console.log(`  ... and ${list.length - 20} more (use --json for all)`);
  };
  show('Added', diff.added, (a) => (labelled.has(a.alertId) ? '+ unlabelled' : '+ labelled  '));
  const missedBefore = new Set(resultA.unmatchedAlerts);
  show('Removed', diff.removed, (a) => (missedBefore.has(a.alertId) ? '- unlabelled' : '- labelled  '));
  const severityBefore = new Map(diff.severityChanged.map(({ before }) => [before.alertId, before.severity]));
  show(
    'Severity changed',
    diff.severityChanged.map(({ after }) => after),
    (a) => `~ ${`${severityBefore.get(a.alertId)} -> ${(a as Alert).severity}`.padEnd(18)}`,
  );
  return 0;
}
