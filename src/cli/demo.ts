/**
 * `ree-sentinel demo` (what `npm start` runs): a month of a simulated supply chain through the
 * detector, embedded, then the most severe alerts and how well each rule found the injected
 * anomalies. No service needed.
 */
import { styleText } from 'node:util';
import { backtest, formatBacktestTable, latestRevisions } from '../backtest/score.ts';
import { loadRulesFile } from '../config/rules-file.ts';
import { loadCatalogue } from '../domain/catalogue.ts';
import { SEVERITIES, type Alert } from '../domain/events.ts';
import { iso } from '../domain/time.ts';
import type { ParsedLine } from '../pipeline/recording.ts';
import { replayLines } from '../pipeline/replay.ts';
import { simulate } from '../sim/simulate.ts';
import { createEngineMemoryStore } from '../state/engine-store.ts';
import { intOption, parseCommandArgs } from './args.ts';

export const DEMO_USAGE = `Usage: ree-sentinel demo [--seed N] [--producers N] [--days N] [--top N]

Simulates a supply chain with injected anomalies, replays it through the detector in memory, and
prints the most severe alerts and the per-rule detection table. An alert that grew and was
published again counts once, at its latest revision. No Kafka, registry or Redis needed.

Options:
  --seed <n>        random seed (default 42)
  --producers <n>   producers (default 100, at least 5)
  --days <n>        days (default 30)
  --top <n>         alerts to show (default 12)
  -h, --help        this help`;

type Format = Parameters<typeof styleText>[0] & string;

/**
 * Colour only on a terminal, and never with NO_COLOR / NODE_DISABLE_COLORS / FORCE_COLOR=0 set:
 * styleText checks the stream and those variables. One format per call: Node 20 skips that check
 * when given an array of formats.
 */
const style = (formats: Format[], text: string) => formats.reduceRight((styled, format) => styleText(format, styled, { stream: process.stdout }), text);
const bold = (s: string) => style(['bold'], s);
const SEVERITY_STYLE: Record<string, Format[]> = { CRITICAL: ['bgRed', 'whiteBright'], HIGH: ['red'], MEDIUM: ['yellow'], LOW: ['cyan'] };
const sev = (s: string) => style(SEVERITY_STYLE[s] ?? [], s.padEnd(8));

const INDENT = ' '.repeat(9);
const EVIDENCE_WIDTH = 100;

/** Every evidence entry (the numbers behind the finding are the point), wrapped into indented lines. */
function evidenceLines(evidence: Record<string, string>): string[] {
  const lines: string[] = [];
  let line = '';
  for (const entry of Object.entries(evidence).map(([k, v]) => `${k}=${v}`)) {
    if (line !== '' && INDENT.length + line.length + 2 + entry.length > EVIDENCE_WIDTH) {
      lines.push(line);
      line = '';
    }
    line = line === '' ? entry : `${line}  ${entry}`;
  }
  if (line !== '') lines.push(line);
  return lines.map((l) => `${INDENT}${l}`);
}

export function formatAlert(a: Alert): string {
  // A revision above 1 tells the reader the finding grew since it was first published.
  const revision = (a.revision ?? 1) > 1 ? `  revision ${a.revision}` : '';
  return [
    `${sev(a.severity)} ${a.ruleId.padEnd(22)} ${a.producerId}  ${iso(a.eventTime).slice(0, 10)}  score ${a.score.toFixed(2)}${revision}`,
    `${INDENT}${a.summary}`,
    ...evidenceLines(a.evidence),
    `${INDENT}reports: ${a.subjectEventIds.slice(0, 4).join(', ')}${a.subjectEventIds.length > 4 ? ', …' : ''}`,
  ].join('\n');
}

/**
 * "32 alerts (40 published, 8 of them earlier revisions)": a growing finding is published again
 * under its id, and what counts (what a subscriber holds, what backtest scores) is the latest
 * revision per id.
 */
export function alertCount(published: number, latest: number): string {
  if (published === latest) return `${latest} alerts`;
  return `${latest} alerts (${published} published, ${published - latest} of them earlier revisions)`;
}

export async function demoCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, { seed: { type: 'string' }, producers: { type: 'string' }, days: { type: 'string' }, top: { type: 'string' } }, DEMO_USAGE);
  if (values.help) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const seed = intOption(values.seed as string | undefined, 'seed', 42);
  const producers = intOption(values.producers as string | undefined, 'producers', 100, 5);
  const days = intOption(values.days as string | undefined, 'days', 30, 1);
  const top = intOption(values.top as string | undefined, 'top', 12, 0);

  console.log(bold(`ree-sentinel demo: ${producers} producers, ${days} days, seed ${seed}`));
  const t0 = performance.now();
  const sim = simulate({ seed, producers, days });
  const t1 = performance.now();
  console.log(`simulated ${sim.stats.records.toLocaleString('en-US')} reports and licence records with ${sim.labels.length} injected anomalies in ${((t1 - t0) / 1000).toFixed(1)} s`);

  const alerts: Alert[] = [];
  const lines = sim.records.map((line, i): ParsedLine => ({ ok: true, line, lineNo: i + 1 }));
  const summary = await replayLines(lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: loadCatalogue(), onAlerts: (a) => void alerts.push(...a) });
  const latest = latestRevisions(alerts);
  const rate = Math.round(summary.reports / summary.seconds).toLocaleString('en-US');
  console.log(`replayed them through the detector in ${summary.seconds.toFixed(1)} s (${rate} reports/s): ${alertCount(alerts.length, latest.length)}, ${summary.deadLetters} rejected records\n`);

  const ranked = [...latest].sort((a, b) => SEVERITIES.indexOf(b.severity) - SEVERITIES.indexOf(a.severity) || b.score - a.score || a.alertId.localeCompare(b.alertId));
  if (top > 0) {
    console.log(bold(`The ${Math.min(top, ranked.length)} most severe alerts:`));
    for (const a of ranked.slice(0, top)) console.log(`${formatAlert(a)}\n`);
  }
  const bySeverity = SEVERITIES.map((s) => `${s} ${latest.filter((a) => a.severity === s).length}`).join(', ');
  console.log(`All alerts by severity: ${bySeverity}\n`);
  console.log(bold('Detection against the injected anomalies (backtest):'));
  console.log(formatBacktestTable(backtest(latest, sim.labels)));
  console.log(`\nNext: 'npx ree-sentinel simulate --out rec.jsonl --labels labels.jsonl', then 'replay' and 'backtest' (see README).`);
  return 0;
}
