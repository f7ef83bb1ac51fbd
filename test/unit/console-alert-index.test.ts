import { describe, expect, it } from 'vitest';
import { createAlertIndex } from '../../src/console/alert-index.ts';
import { alertQuerySchema } from '../../src/console/alert-query.ts';
import { applyTriage, initialStatus } from '../../src/console/alert-status.ts';
import { alert } from '../helpers/alerts.ts';
import { at, D0 } from '../helpers/builders.ts';

const query = (q: Record<string, string> = {}) => alertQuerySchema.parse(q);

describe('alert index', () => {
  it('lists alerts newest first (by detectedAt), whatever order they arrive in', () => {
    const index = createAlertIndex();
    const old = alert({ detectedAt: at(D0, 1) });
    const newest = alert({ detectedAt: at(D0, 9) });
    const middle = alert({ detectedAt: at(D0, 5) });
    for (const a of [old, newest, middle]) index.addAlert(a);
    expect(index.query(query()).alerts.map((r) => r.alertId)).toEqual([newest.alertId, middle.alertId, old.alertId]);
  });

  it('filters by every field the inbox offers, and counts per rule, severity and status over the matches', () => {
    const index = createAlertIndex();
    const a1 = alert({ ruleId: 'volume-mismatch', severity: 'LOW', producerId: 'P2', clientId: null, evidence: { material: 'DY_OXIDE' }, eventTime: at(D0 + 3) });
    const a2 = alert({ licenceId: 'LIC-9', severity: 'CRITICAL', eventTime: at(D0 + 1) });
    const a3 = alert({ clientId: 'C7', summary: 'Exported to Zhang Trading' });
    for (const a of [a1, a2, a3]) index.addAlert(a);
    const ids = (q: Record<string, string>) => index.query(query(q)).alerts.map((r) => r.alertId).sort();
    expect(ids({ rule: 'volume-mismatch' })).toEqual([a1.alertId]);
    expect(ids({ severity: 'CRITICAL' })).toEqual([a2.alertId]);
    expect(ids({ producer: 'P2' })).toEqual([a1.alertId]);
    expect(ids({ client: 'C7' })).toEqual([a3.alertId]);
    expect(ids({ licence: 'LIC-9' })).toEqual([a2.alertId]);
    expect(ids({ material: 'DY_OXIDE' })).toEqual([a1.alertId]);
    expect(ids({ from: new Date(at(D0 + 1)).toISOString(), to: String(at(D0 + 2)) })).toEqual([a2.alertId]);
    expect(ids({ q: 'zhang' })).toEqual([a3.alertId]);
    expect(ids({ q: a2.subjectEventIds[0]! })).toEqual([a2.alertId]);
    const page = index.query(query({ rule: 'unlicensed-client' }));
    expect(page.counts).toEqual({ rule: { 'unlicensed-client': 2 }, severity: { CRITICAL: 1, HIGH: 1 }, status: { NEW: 2 } });
  });

  it('pages through the matches with offset and limit, the total counting them all', () => {
    const index = createAlertIndex();
    const all = Array.from({ length: 7 }, (_, i) => alert({ detectedAt: at(D0, i) }));
    for (const a of all) index.addAlert(a);
    const page = index.query(query({ offset: '2', limit: '3' }));
    expect(page.total).toBe(7);
    expect(page.alerts.map((r) => r.alertId)).toEqual([all[4]!, all[3]!, all[2]!].map((a) => a.alertId));
  });

  it('treats a record with a known alertId as a new revision, and a redelivery as nothing', () => {
    const index = createAlertIndex();
    const first = alert({ subjectEventIds: ['s-1'], detectedAt: at(D0, 1) });
    expect(index.addAlert(first)).toBe('new');
    expect(index.addAlert({ ...first, detectedAt: at(D0, 2) })).toBe('duplicate');
    const grown = { ...first, subjectEventIds: ['s-1', 's-2'], revision: 2, detectedAt: at(D0, 3) };
    expect(index.addAlert(grown)).toBe('revised');
    expect(index.addAlert({ ...grown })).toBe('duplicate');
    expect(index.get(first.alertId)!.revisions).toHaveLength(2);
    expect(index.row(first.alertId)).toMatchObject({ subjectEventIds: ['s-1', 's-2'], revision: 2, revisions: 2 });
    expect(index.size()).toBe(1);
  });

  it('keeps a status that arrived before its alert, and filters on status', () => {
    const index = createAlertIndex();
    const a = alert();
    const confirmed = applyTriage(initialStatus(a.alertId), { action: 'close', by: 'ana', verdict: 'CONFIRMED' }, 1, 'c1');
    index.setStatus(confirmed);
    index.addAlert(a);
    index.addAlert(alert());
    expect(index.query(query({ status: 'CONFIRMED' })).alerts.map((r) => r.alertId)).toEqual([a.alertId]);
    expect(index.query(query({ status: 'NEW' })).total).toBe(1);
  });

  it('rates confirmed and false-positive verdicts per rule, and exports confirmed ones as labels', () => {
    const index = createAlertIndex();
    const yes = alert({ subjectEventIds: ['s-1'] });
    const no = alert();
    const open = alert({ ruleId: 'volume-mismatch' });
    for (const a of [yes, no, open]) index.addAlert(a);
    index.addAlert({ ...yes, subjectEventIds: ['s-1', 's-2'], revision: 2 });
    index.setStatus(applyTriage(index.statusOf(yes.alertId), { action: 'close', by: 'ana', verdict: 'CONFIRMED' }, 1, 'c1'));
    index.setStatus(applyTriage(index.statusOf(no.alertId), { action: 'close', by: 'ana', verdict: 'FALSE_POSITIVE' }, 1, 'c2'));
    expect(index.rates()).toEqual([
      { ruleId: 'unlicensed-client', alerts: 2, confirmed: 1, falsePositive: 1, open: 0, confirmedRate: 0.5 },
      { ruleId: 'volume-mismatch', alerts: 1, confirmed: 0, falsePositive: 0, open: 1, confirmedRate: null },
    ]);
    expect(index.confirmedLabels()).toEqual([
      { anomalyId: `verdict:${yes.alertId}`, ruleId: 'unlicensed-client', producerId: 'P1', subjectEventIds: ['s-1', 's-2'], clientId: 'C1', licenceId: null },
    ]);
  });
});

describe('alert query', () => {
  it('refuses unknown parameters and bad values, naming them', () => {
    const problem = (q: Record<string, string>) => alertQuerySchema.safeParse(q).error?.issues[0];
    expect(problem({ colour: 'red' })?.code).toBe('unrecognized_keys');
    expect(problem({ severity: 'HUGE' })?.path).toEqual(['severity']);
    expect(problem({ limit: '501' })?.path).toEqual(['limit']);
    expect(problem({ from: 'yesterday' })?.message).toMatch(/epoch milliseconds or an ISO-8601/);
  });
});
