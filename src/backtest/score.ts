/**
 * Precision and recall of alerts against labels (DESIGN.md): an alert detects a label when their
 * ruleIds are equal and their subjectEventIds intersect; for producer-level rules, which have no
 * single subject report, the same producerId is the match.
 */
export interface Label {
  anomalyId: string;
  ruleId: string;
  producerId: string;
  subjectEventIds: string[];
  clientId?: string | null;
  licenceId?: string | null;
}

export interface ScoredAlert {
  alertId: string;
  ruleId: string;
  producerId: string;
  subjectEventIds: string[];
  /** A growing finding is published again under its id with a higher revision; absent means 1. */
  revision?: number | null | undefined;
}

export const PRODUCER_LEVEL_RULES = new Set(['reporting-gap']);

export interface RuleScore {
  ruleId: string;
  alerts: number;
  labels: number;
  truePositives: number;
  falsePositives: number;
  detected: number;
  missed: number;
  /** null with no alerts: nothing was claimed, so there is no share of it to be right. */
  precision: number | null;
  /** null with no labels: nothing was there to find. */
  recall: number | null;
  /** null when both are; 0 when one is (the other is then 0: see f1Of). */
  f1: number | null;
}

export interface BacktestResult {
  rules: RuleScore[];
  overall: RuleScore;
  /** Alerts that match no label, and labels no alert detects: the rows an operator reads next. */
  unmatchedAlerts: string[];
  missedLabels: string[];
}

function matches(alert: ScoredAlert, label: Label): boolean {
  if (alert.ruleId !== label.ruleId) return false;
  if (PRODUCER_LEVEL_RULES.has(label.ruleId)) return alert.producerId === label.producerId;
  return alert.subjectEventIds.some((id) => label.subjectEventIds.includes(id));
}

function ratio(n: number, d: number): number | null {
  // Undefined, not 1: a rule with no alerts would otherwise read as perfectly precise.
  return d === 0 ? null : n / d;
}

function f1Of(precision: number | null, recall: number | null): number | null {
  if (precision === null && recall === null) return null;
  // With no alerts nothing is detected (recall 0); with no labels no alert is right (precision 0).
  if (precision === null || recall === null) return 0;
  return precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
}

function score(ruleId: string, alerts: number, labels: number, tp: number, detected: number): RuleScore {
  const precision = ratio(tp, alerts);
  const recall = ratio(detected, labels);
  const f1 = f1Of(precision, recall);
  return { ruleId, alerts, labels, truePositives: tp, falsePositives: alerts - tp, detected, missed: labels - detected, precision, recall, f1 };
}

/** First occurrence per id wins: a recorded alerts topic is delivered at least once, so may repeat an alert. */
function uniqueBy<T>(items: T[], id: (x: T) => string): T[] {
  const seen = new Map<string, T>();
  for (const x of items) if (!seen.has(id(x))) seen.set(id(x), x);
  return [...seen.values()];
}

/**
 * One alert per id: its highest revision (the first of equals), what a subscriber ends up holding.
 * Kept in the order each id first appears.
 */
export function latestRevisions<T extends Pick<ScoredAlert, 'alertId' | 'revision'>>(alerts: readonly T[]): T[] {
  const latest = new Map<string, T>();
  for (const a of alerts) {
    const held = latest.get(a.alertId);
    if (!held || (a.revision ?? 1) > (held.revision ?? 1)) latest.set(a.alertId, a);
  }
  return [...latest.values()];
}

export function backtest(allAlerts: ScoredAlert[], allLabels: Label[]): BacktestResult {
  // Counts are over distinct ids; a repeat would otherwise count per rule but not overall.
  const alerts = latestRevisions(allAlerts);
  const labels = uniqueBy(allLabels, (l) => l.anomalyId);
  // Index labels by subject report so matching stays linear in the number of alerts.
  const bySubject = new Map<string, Label[]>();
  const byProducer = new Map<string, Label[]>();
  for (const label of labels) {
    if (PRODUCER_LEVEL_RULES.has(label.ruleId)) {
      byProducer.set(label.producerId, [...(byProducer.get(label.producerId) ?? []), label]);
    } else {
      for (const id of label.subjectEventIds) bySubject.set(id, [...(bySubject.get(id) ?? []), label]);
    }
  }
  const detectedLabels = new Set<string>();
  const truePositive = new Set<string>();
  for (const alert of alerts) {
    const candidates = new Set<Label>([...(byProducer.get(alert.producerId) ?? []), ...alert.subjectEventIds.flatMap((id) => bySubject.get(id) ?? [])]);
    for (const label of candidates) {
      if (!matches(alert, label)) continue;
      truePositive.add(alert.alertId);
      detectedLabels.add(label.anomalyId);
    }
  }
  const ruleIds = [...new Set([...alerts.map((a) => a.ruleId), ...labels.map((l) => l.ruleId)])].sort();
  const rules = ruleIds.map((ruleId) => {
    const ra = alerts.filter((a) => a.ruleId === ruleId);
    const rl = labels.filter((l) => l.ruleId === ruleId);
    return score(
      ruleId,
      ra.length,
      rl.length,
      ra.filter((a) => truePositive.has(a.alertId)).length,
      rl.filter((l) => detectedLabels.has(l.anomalyId)).length,
    );
  });
  const overall = score('overall', alerts.length, labels.length, truePositive.size, detectedLabels.size);
  return {
    rules,
    overall,
    unmatchedAlerts: alerts.filter((a) => !truePositive.has(a.alertId)).map((a) => a.alertId),
    missedLabels: labels.filter((l) => !detectedLabels.has(l.anomalyId)).map((l) => l.anomalyId),
  };
}

/** A ratio with nothing to divide by (no alerts, no labels) prints as "-"; JSON has it as null. */
const f = (x: number | null) => (x === null ? '-' : x.toFixed(3));

export function formatBacktestTable(result: BacktestResult): string {
  const header = ['rule', 'alerts', 'labels', 'TP', 'FP', 'FN', 'precision', 'recall', 'F1'];
  const rows = [...result.rules, result.overall].map((r) => [
    r.ruleId,
    String(r.alerts),
    String(r.labels),
    String(r.truePositives),
    String(r.falsePositives),
    String(r.missed),
    f(r.precision),
    f(r.recall),
    f(r.f1),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(0, -1).map(line), widths.map((w) => '-'.repeat(w)).join('  '), line(rows.at(-1)!)].join('\n');
}
