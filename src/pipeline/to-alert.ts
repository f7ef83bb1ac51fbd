/** The shared step from a rule's draft to an Alert: id, severity, rounding, revision, detection time. */
import type { Alert } from '../domain/events.ts';
import type { RuleSet } from '../config/rules-file.ts';
import type { AlertDraft } from '../rules/rule.ts';
import { severityFor } from '../rules/severity.ts';
import { alertIdFor } from './alert-id.ts';

export function toAlert(ruleId: string, ruleVersion: number, draft: AlertDraft, bands: RuleSet['rules'][number]['bands'], detectedAt: number): Alert {
  return {
    alertId: alertIdFor(ruleId, draft.findingKey),
    ruleId,
    ruleVersion,
    severity: severityFor(draft.score, bands, draft.severityFloor),
    score: Math.round(draft.score * 1000) / 1000,
    producerId: draft.producerId,
    clientId: draft.clientId ?? null,
    licenceId: draft.licenceId ?? null,
    subjectEventIds: draft.subjectEventIds,
    summary: draft.summary,
    evidence: draft.evidence,
    eventTime: draft.eventTime,
    detectedAt,
    windowStart: draft.windowStart ?? null,
    windowEnd: draft.windowEnd ?? null,
    // Always set, so a subscriber (and the published markers) can tell a new revision from a redelivery.
    revision: draft.revision ?? 1,
  };
}

/** Keeps, per alertId, the first alert at the highest revision: at most one publication per alertId per batch. */
export function keepHighest(found: Map<string, Alert>, alert: Alert): void {
  const held = found.get(alert.alertId);
  if (!held || (alert.revision ?? 1) > (held.revision ?? 1)) found.set(alert.alertId, alert);
}
