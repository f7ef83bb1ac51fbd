import { describe, expect, it } from 'vitest';
import type { Report, ShipmentReport } from '../../../src/domain/events.ts';
import { HOUR_MS } from '../../../src/domain/time.ts';
import type { AlertDraft, ParamsFor, Rule } from '../../../src/rules/rule.ts';
import { splitShipments, splitShipmentsParams } from '../../../src/rules/split-shipments.ts';
import { volumeSpike, volumeSpikeParams } from '../../../src/rules/volume-spike.ts';
import { ProducerState } from '../../../src/state/engine/producer-state.ts';
import { popDueTimers, ruleStateOf } from '../../../src/state/rule-state.ts';
import { at, D0, paramsFrom, reports, testCatalogue } from '../../helpers/builders.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

const LATENESS = 72 * HOUR_MS;
const exportOn = (day: number, quantityKg: number, o: Partial<ShipmentReport> = {}): Report =>
  reports.shipments({ material: 'NDFEB_MAGNET', licenceId: null, quantityKg, occurredAt: at(D0 + day, 12), ...o });
/** Ten usual lots, four parcels to one client within a week (split-shipments), then an 8x lot (volume-spike). */
const FEED: Report[] = [
  ...[80, 90, 90, 95, 100, 100, 105, 110, 110, 120].map((kg, i) => exportOn(i, kg)),
  ...[10, 12, 9, 11].map((kg, i) => exportOn(10 + i, kg, { clientId: 'C2', transportMode: 'COURIER' })),
  exportOn(15, 800),
];

type AnyRule = Rule<unknown>;
const RULES: [AnyRule, ParamsFor<unknown>][] = [
  [splitShipments as AnyRule, paramsFrom(splitShipmentsParams) as ParamsFor<unknown>],
  [volumeSpike as AnyRule, paramsFrom(volumeSpikeParams) as ParamsFor<unknown>],
];

/**
 * Both rules on one producer's state, as the pipeline runs them: each report to each rule, then
 * the timers the watermark passed, in order. `restart` after that many reports saves the state and
 * goes on from what was saved, with its fields first changed by `rewrite`.
 */
function runBoth(restart?: { after: number; rewrite: (fields: Map<string, string>) => Map<string, string> }) {
  let producer = new ProducerState('P1');
  let watermark = -Infinity;
  const drafts: AlertDraft[] = [];
  let savedAfterRestart: Map<string, string | null> | undefined;
  const advanceTo = (time: number) => {
    if (!(time > watermark)) return;
    watermark = time;
    for (const t of popDueTimers(producer, watermark)) {
      const [rule, params] = RULES.find(([r]) => r.id === t.payload.ruleId)!;
      const state = ruleStateOf(producer, rule.id);
      drafts.push(...rule.onTimer!({ producerId: 'P1', key: t.payload.key, dueAt: t.dueAt, payload: t.payload.payload, state, watermark, catalogue: testCatalogue() }, params));
    }
  };
  FEED.forEach((report, i) => {
    if (restart && i === restart.after) {
      const saved = new Map([...producer.drainChanges()].filter((e): e is [string, string] => e[1] !== null));
      producer = new ProducerState('P1', restart.rewrite(saved));
    }
    for (const [rule, params] of RULES) {
      const state = ruleStateOf(producer, rule.id);
      const result = { reportId: report.event.reportId, duplicate: false, watermark: report.event.occurredAt, checks: [] };
      drafts.push(...rule.evaluate({ report, result, licence: null, catalogue: testCatalogue(), state, watermark }, params));
    }
    advanceTo(report.event.occurredAt - LATENESS);
  });
  advanceTo(Number.MAX_SAFE_INTEGER);
  if (restart) savedAfterRestart = producer.drainChanges();
  return { drafts, producer, savedAfterRestart };
}

const findings = (drafts: AlertDraft[]) => drafts.map((d) => `${d.findingKey}@${d.revision ?? 1}`).sort();

function alone(rule: AnyRule, params: ParamsFor<unknown>): string[] {
  const h = ruleHarness(rule, params, { allowedLatenessMs: LATENESS });
  h.feed(FEED);
  h.advanceTo(Number.MAX_SAFE_INTEGER);
  return findings(h.drafts);
}

describe('settled exports shared by volume-spike and split-shipments', () => {
  it('keeps one copy of the exports for both rules, and each finds what it finds alone', () => {
    const { drafts, producer } = runBoth();
    const expected = [...alone(...RULES[0]!), ...alone(...RULES[1]!)].sort();
    expect(expected).toHaveLength(2); // a split group and a spike
    expect(findings(drafts)).toEqual(expected);
    const fields = [...producer.drainChanges().keys()];
    expect(fields.filter((f) => f.endsWith(':exports'))).toEqual(['shared:exports']);
  });

  it('reads state saved when each rule kept its own copy: same findings, and the copies are deleted', () => {
    const asFirstStored = (fields: Map<string, string>) => {
      const out = new Map(fields);
      const shared = out.get('shared:exports')!;
      out.delete('shared:exports');
      out.set('rule:volume-spike:exports', shared);
      out.set('rule:split-shipments:exports', shared);
      return out;
    };
    const straight = runBoth();
    const restarted = runBoth({ after: 12, rewrite: asFirstStored });
    expect(findings(restarted.drafts)).toEqual(findings(straight.drafts));
    const saved = restarted.savedAfterRestart!;
    expect(saved.get('rule:volume-spike:exports')).toBeNull();
    expect(saved.get('rule:split-shipments:exports')).toBeNull();
    expect(saved.get('shared:exports')).toBeTypeOf('string');
  });
});
