/**
 * What a rules change does to the alerts of one recording: alerts it adds, alerts it removes, and
 * alerts it keeps but at another severity (same finding, same alertId, so only the severity tells).
 */
import type { Severity } from '../domain/events.ts';
import type { ScoredAlert } from './score.ts';

export interface ComparedAlert extends ScoredAlert {
  severity: Severity;
  score: number;
}

export interface AlertDiff<A extends ComparedAlert> {
  added: A[];
  removed: A[];
  /** Raised under both rule sets at different severities. */
  severityChanged: { before: A; after: A }[];
  /** Raised under both at the same severity. */
  kept: number;
}

export function diffAlerts<A extends ComparedAlert>(before: readonly A[], after: readonly A[]): AlertDiff<A> {
  const a = new Map(before.map((x) => [x.alertId, x]));
  const b = new Map(after.map((x) => [x.alertId, x]));
  const inBoth = [...b.values()].filter((x) => a.has(x.alertId)).map((x) => ({ before: a.get(x.alertId)!, after: x }));
  const severityChanged = inBoth.filter(({ before: x, after: y }) => x.severity !== y.severity);
  return {
    added: [...b.values()].filter((x) => !a.has(x.alertId)),
    removed: [...a.values()].filter((x) => !b.has(x.alertId)),
    severityChanged,
    kept: inBoth.length - severityChanged.length,
  };
}
