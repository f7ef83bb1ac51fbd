/**
 * Triage of one alert: where it stands (NEW → ACKNOWLEDGED → CONFIRMED | FALSE_POSITIVE), who has
 * it, and every change with who made it and when. The status topic is compacted (only the latest
 * record per alertId survives), so each record carries the whole history, not just the last change.
 */
import { z } from 'zod';

export const ALERT_STATUSES = ['NEW', 'ACKNOWLEDGED', 'CONFIRMED', 'FALSE_POSITIVE'] as const;
export type AlertStatusValue = (typeof ALERT_STATUSES)[number];
export const VERDICTS = ['CONFIRMED', 'FALSE_POSITIVE'] as const;

const person = z.string().trim().min(1, 'must not be empty').max(100, 'at most 100 characters');
const note = z.string().max(2_000, 'at most 2000 characters');

/**
 * The last change the investigator saw (null: none yet). When sent, the change is refused (409) if
 * the alert has moved on since, instead of being built on a history the person never read.
 */
const lastChangeId = z.string().min(1).max(200).nullable().optional();

/** What an investigator asks for; the body of POST /api/alerts/:id/triage. */
export const triageRequestSchema = z.discriminatedUnion('action', [
  z.object({ action: z.literal('acknowledge'), by: person, note: note.optional(), lastChangeId }).strict(),
  z.object({ action: z.literal('assign'), by: person, assignee: person, note: note.optional(), lastChangeId }).strict(),
  z.object({ action: z.literal('close'), by: person, verdict: z.enum(VERDICTS), note: note.optional(), lastChangeId }).strict(),
  z.object({ action: z.literal('reopen'), by: person, note: note.optional(), lastChangeId }).strict(),
]);
export type TriageRequest = z.output<typeof triageRequestSchema>;

export const statusChangeSchema = z.object({
  changeId: z.string().min(1),
  at: z.number().int(),
  by: z.string(),
  action: z.enum(['acknowledge', 'assign', 'close', 'reopen']),
  status: z.enum(ALERT_STATUSES),
  assignee: z.string().nullable(),
  note: z.string().nullable(),
});
export type StatusChange = z.output<typeof statusChangeSchema>;

/** The value on the status topic, keyed by alertId. */
export const alertStatusSchema = z.object({
  alertId: z.string().min(1),
  status: z.enum(ALERT_STATUSES),
  assignee: z.string().nullable(),
  changes: z.array(statusChangeSchema),
});
export type AlertStatus = z.output<typeof alertStatusSchema>;

export function initialStatus(alertId: string): AlertStatus {
  return { alertId, status: 'NEW', assignee: null, changes: [] };
}

/**
 * The status after a request. `at` is the wall-clock of the investigator's action: triage is
 * people's work, not a rule, so it is stamped when it happens.
 */
export function applyTriage(current: AlertStatus, request: TriageRequest, at: number, changeId: string): AlertStatus {
  const [status, assignee] = advance(current, request.action, request.action === 'assign' ? request.assignee : null, request.action === 'close' ? request.verdict : null);
  const change: StatusChange = { changeId, at, by: request.by, action: request.action, status, assignee, note: request.note?.trim() || null };
  return { alertId: current.alertId, status, assignee, changes: [...current.changes, change] };
}

/** Where one action leaves an alert; `assignee` matters for assign only, `verdict` for close only. */
function advance(current: Pick<AlertStatus, 'status' | 'assignee'>, action: StatusChange['action'], assignee: string | null, verdict: AlertStatusValue | null): [AlertStatusValue, string | null] {
  switch (action) {
    case 'acknowledge':
      return [current.status === 'NEW' ? 'ACKNOWLEDGED' : current.status, current.assignee];
    case 'assign':
      return [current.status === 'NEW' ? 'ACKNOWLEDGED' : current.status, assignee];
    case 'close':
      return [verdict ?? current.status, current.assignee];
    case 'reopen':
      return ['ACKNOWLEDGED', current.assignee];
  }
}

/**
 * The status a list of changes adds up to, replayed in order. For histories written on two consoles
 * at once and merged: each change's own record is kept as written (what its author saw), the
 * alert's status and assignee are those of all the changes together.
 */
export function replayChanges(alertId: string, changes: readonly StatusChange[]): AlertStatus {
  let state: Pick<AlertStatus, 'status' | 'assignee'> = initialStatus(alertId);
  for (const c of changes) {
    const [status, assignee] = advance(state, c.action, c.assignee, c.status);
    state = { status, assignee };
  }
  return { alertId, ...state, changes: [...changes] };
}

export function isClosed(status: AlertStatusValue): boolean {
  return status === 'CONFIRMED' || status === 'FALSE_POSITIVE';
}
