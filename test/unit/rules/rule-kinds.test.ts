/**
 * Rule.kinds: the pipeline calls a rule's evaluate only for the report kinds it declares, so a rule
 * that declares kinds must find nothing and change none of its state for any other kind. Each such
 * rule here gets a report of every kind it leaves out, with everything an input can carry (a fired
 * balance check, a licence, a custody record, quotas), after reports of its own kinds have filled
 * its state.
 */
import { describe, expect, it } from 'vitest';
import type { Report, ReportKind } from '../../../src/domain/events.ts';
import { RULES } from '../../../src/rules/index.ts';
import type { Rule, RuleInput } from '../../../src/rules/rule.ts';
import { ProducerState } from '../../../src/state/engine/producer-state.ts';
import { ruleStateOf } from '../../../src/state/rule-state.ts';
import { at, D0, firedCheck, licence, reports, testCatalogue } from '../../helpers/builders.ts';
import { quota } from '../../helpers/quota-register-contract.ts';

const KINDS: readonly ReportKind[] = ['production', 'shipments', 'receipts', 'inventory'];

/** Reports of every kind from P1 over a few days, each kind in a form its rules act on. */
function reportsOf(kind: ReportKind, day: number): Report[] {
  switch (kind) {
    case 'production':
      return [reports.production({ occurredAt: at(day) }), reports.production({ stage: 'SEPARATION', material: 'NDPR_OXIDE', quantityKg: 50_000, occurredAt: at(day, 13) })];
    case 'shipments':
      return [
        reports.shipments({ occurredAt: at(day) }),
        reports.shipments({ direction: 'DOMESTIC', clientId: 'P2', occurredAt: at(day, 14) }),
        reports.shipments({ quantityKg: 90_000, hsCode: '7504000000', destinationCountry: 'HK', licenceId: null, occurredAt: at(day, 15) }),
      ];
    case 'receipts':
      return [reports.receipts({ producerId: 'P1', supplierId: 'P2', quantityKg: 70, occurredAt: at(day) })];
    case 'inventory':
      return [reports.inventory({ onHandKg: 1, occurredAt: at(day) })];
  }
}

const catalogue = testCatalogue();

function inputFor(rule: Rule<any>, state: ProducerState, report: Report): RuleInput {
  return {
    report,
    result: { reportId: report.event.reportId, duplicate: false, watermark: report.event.occurredAt, checks: [firedCheck()] },
    licence: licence({ quotaKg: 1 }),
    catalogue,
    state: ruleStateOf(state, rule.id),
    watermark: report.event.occurredAt,
    // Both sides of a transfer received short: a finding for whoever judges it.
    custody: {
      shipment: { reportId: 'ship-x', producerId: 'P2', counterpartyId: 'P1', material: 'NDFEB_DY_MAGNET', quantityKg: 100, occurredAt: at(D0) },
      receipt: { reportId: 'rcpt-x', producerId: 'P1', counterpartyId: 'P2', material: 'NDFEB_DY_MAGNET', quantityKg: 70, occurredAt: at(D0 + 1) },
    },
    quotas: [quota({ producerId: 'P1', year: 2025, materials: ['NDPR_OXIDE'], quotaKg: 1 })],
  };
}

const declaring = RULES.filter((r) => r.kinds !== undefined);

describe('rules that declare the report kinds they read', () => {
  it('are most rules: the pipeline skips them for other kinds', () => {
    expect(declaring.map((r) => r.id).sort()).toEqual(
      RULES.filter((r) => r.id !== 'reporting-gap' && r.id !== 'volume-mismatch')
        .map((r) => r.id)
        .sort(),
    );
  });

  it.each(declaring.map((r) => [r.id, r] as const))('%s finds nothing and keeps its state as it was for any other kind', (_id, rule) => {
    const params = () => rule.params.parse({});
    const state = new ProducerState('P1');
    for (let day = D0; day < D0 + 12; day += 1) {
      for (const kind of rule.kinds!) for (const report of reportsOf(kind, day)) rule.evaluate(inputFor(rule, state, report), params);
    }
    state.drainChanges();
    for (const kind of KINDS.filter((k) => !rule.kinds!.includes(k))) {
      for (const report of reportsOf(kind, D0 + 12)) {
        expect(rule.evaluate(inputFor(rule, state, report), params)).toEqual([]);
      }
    }
    expect([...state.drainChanges().keys()]).toEqual([]);
  });
});
