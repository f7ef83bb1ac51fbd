/**
 * What the per-report shortcuts keep at hand (the last cell a rule asked for, the last day's
 * cadence, the settled run of exports, a price point's place) must give what the full lookups
 * gave, whatever order the asks and the reports come in.
 */
import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/domain/time.ts';
import type { Cadence } from '../../src/rules/reporting-cadence.ts';
import { ReportingHistory } from '../../src/rules/reporting-gap-history.ts';
import { exportsBefore, SettledExports } from '../../src/rules/settled-exports.ts';
import { LastSeen } from '../../src/state/engine/last-seen.ts';
import { ProducerState } from '../../src/state/engine/producer-state.ts';
import { ruleStateOf, ruleStatesFor } from '../../src/state/rule-state.ts';
import { at, D0, shipment } from '../helpers/builders.ts';

const cadence = (allowedGapDays: number): Cadence => ({ gaps: 6, medianGapDays: 1, usualLongestGapDays: 1, allowedGapDays, allowedBy: 'cadence' });

describe('a rule state asked for its cells in turn', () => {
  it('gives each name its own cell, the same one every time', () => {
    const producer = new ProducerState('P1');
    const state = ruleStateOf(producer, 'reporting-gap');
    const a = state.cell('a', () => new LastSeen());
    const b = state.cell('b', () => new LastSeen());
    expect(a).not.toBe(b);
    expect(state.cell('a', () => new LastSeen())).toBe(a);
    expect(state.cell('a', () => new LastSeen())).toBe(a);
    expect(state.cell('b', () => new LastSeen())).toBe(b);
    // Another rule's cell of the same name is its own.
    expect(ruleStateOf(producer, 'volume-spike').cell('a', () => new LastSeen())).not.toBe(a);
  });

  it('keeps three names apart in any order, shares a shared cell across rules, and keeps timers per rule', () => {
    const producer = new ProducerState('P1');
    const gap = ruleStateOf(producer, 'reporting-gap');
    const spike = ruleStateOf(producer, 'volume-spike');
    const [a, b, c] = ['a', 'b', 'c'].map((n) => gap.cell(n, () => new LastSeen()));
    for (const [name, cell] of [['c', c], ['a', a], ['b', b], ['b', b], ['c', c]] as const) expect(gap.cell(name, () => new LastSeen())).toBe(cell);
    expect(new Set([a, b, c]).size).toBe(3);
    const shared = gap.sharedCell('exports', () => new LastSeen());
    expect(spike.sharedCell('exports', () => new LastSeen())).toBe(shared);
    gap.setTimer('t', 5);
    spike.setTimer('t', 7);
    expect([gap.timerDueAt('t'), spike.timerDueAt('t')]).toEqual([5, 7]);
    gap.cancelTimer('t');
    expect([gap.timerDueAt('t'), spike.timerDueAt('t')]).toEqual([undefined, 7]);
  });

  it('hands a list of rules their states in the list order, the same as one by one', () => {
    const producer = new ProducerState('P1');
    const list = [{ rule: { id: 'volume-spike' } }, { rule: { id: 'reporting-gap' } }];
    const states = ruleStatesFor(producer, list);
    expect(states).toEqual([ruleStateOf(producer, 'volume-spike'), ruleStateOf(producer, 'reporting-gap')]);
    expect(states[1]).toBe(ruleStateOf(producer, 'reporting-gap'));
    expect(ruleStatesFor(producer, list)).toBe(states);
    expect(ruleStatesFor(new ProducerState('P1'), list)[0]).not.toBe(states[0]);
    // Many lists (reloads): each still gets its own states, in its order.
    for (let i = 0; i < 20; i += 1) {
      const other = i % 2 === 0 ? [{ rule: { id: 'reporting-gap' } }] : [{ rule: { id: 'custody-gap' } }, { rule: { id: 'volume-spike' } }];
      expect(ruleStatesFor(producer, other)).toEqual(other.map((r) => ruleStateOf(producer, r.rule.id)));
    }
    expect(ruleStatesFor(producer, list)).toEqual(states);
  });
});

describe("reporting-gap's cadences", () => {
  it('learns a day once, again after a day is added or the parameters change, and keeps a "none yet" too', () => {
    const history = new ReportingHistory();
    const params = {};
    let learned = 0;
    const learn = (c: Cadence | null) => () => ((learned += 1), c);
    history.addDay(10);
    expect(history.cadenceOn(10, params, learn(null))).toBeNull();
    expect(history.cadenceOn(10, params, learn(cadence(5)))).toBeNull();
    expect(learned).toBe(1);
    expect(history.cadenceOn(11, params, learn(cadence(5)))).toEqual(cadence(5));
    expect(history.cadenceOn(10, params, learn(cadence(9)))).toBeNull();
    expect(learned).toBe(2);
    // A new day may change every cadence: learned again.
    history.addDay(11);
    expect(history.cadenceOn(10, params, learn(cadence(7)))).toEqual(cadence(7));
    expect(learned).toBe(3);
    // The same day again adds nothing and forgets nothing.
    history.addDay(11);
    expect(history.cadenceOn(10, params, learn(cadence(8)))).toEqual(cadence(7));
    expect(history.cadenceOn(10, {}, learn(cadence(8)))).toEqual(cadence(8));
    expect(learned).toBe(4);
  });
});

describe('settled exports', () => {
  it('settles exactly those the watermark passed since last time, whatever order they came in, and re-arms at the next', () => {
    const producer = new ProducerState('P1');
    const state = ruleStateOf(producer, 'volume-spike');
    const exports = new SettledExports(state);
    const days = [5, 1, 3, 9, 2, 7, 3.5];
    for (const [i, d] of days.entries()) {
      const material = i % 2 === 0 ? 'NDFEB_MAGNET' : 'DY_OXIDE';
      exports.record(shipment({ reportId: `R${i}`, material, occurredAt: at(D0 + d) }));
    }
    const settledIds = (watermark: number) => {
      const { byMaterial } = exports.settle(watermark);
      return [...byMaterial].map(([m, list]) => [m, list.map((e) => e.id)]);
    };
    expect(state.timerDueAt('settle')).toBe(at(D0 + 1));
    expect(settledIds(at(D0 + 3))).toEqual([
      ['NDFEB_MAGNET', ['R4', 'R2']],
      ['DY_OXIDE', ['R1']],
    ]);
    expect(state.timerDueAt('settle')).toBe(at(D0 + 3.5));
    // Not past the last settle: nothing.
    expect(settledIds(at(D0 + 2))).toEqual([]);
    expect(settledIds(at(D0 + 7))).toEqual([
      ['NDFEB_MAGNET', ['R6', 'R0']],
      ['DY_OXIDE', ['R5']],
    ]);
    expect(state.timerDueAt('settle')).toBe(at(D0 + 9));
    // Arriving after its time settled: judged at once, on its own.
    const late = exports.record(shipment({ reportId: 'R7', material: 'DY_OXIDE', occurredAt: at(D0 + 4) }));
    expect([...late.byMaterial].map(([m, l]) => [m, l.map((e) => e.id)])).toEqual([['DY_OXIDE', ['R7']]]);
    expect(settledIds(at(D0 + 100))).toEqual([['DY_OXIDE', ['R3']]]);
  });

  it('finds the export another rule has already recorded', () => {
    const producer = new ProducerState('P1');
    const s = shipment({ reportId: 'R1', occurredAt: at(D0) });
    new SettledExports(ruleStateOf(producer, 'split-shipments')).record(shipment({ reportId: 'R0', occurredAt: at(D0 - 1) }));
    new SettledExports(ruleStateOf(producer, 'split-shipments')).settle(at(D0 - 1));
    new SettledExports(ruleStateOf(producer, 'split-shipments')).record(s);
    const spike = new SettledExports(ruleStateOf(producer, 'volume-spike'));
    expect(spike.record(s).byMaterial.size).toBe(0);
    expect(spike.list(s.material).map((e) => e.id)).toEqual(['R0', 'R1']);
    // Its own settle judges both, the one the other rule recorded included.
    expect([...spike.settle(at(D0)).byMaterial.values()].flat().map((e) => e.id)).toEqual(['R0', 'R1']);
  });
});

describe("an export's history (exportsBefore, walked back from the export)", () => {
  // Exports on days 0..10 of one material, one a day at noon, and a second one on day 10 at the same instant.
  const fact = { kg: 1, clientId: 'C1', dest: 'DE', mode: 'SEA' as const, shipmentId: 'S', licenceId: null };
  const list = [...Array.from({ length: 11 }, (_, d) => ({ id: `R${String(d).padStart(2, '0')}`, at: D0 + d * DAY_MS + DAY_MS / 2, value: fact })), { id: 'R10b', at: D0 + 10 * DAY_MS + DAY_MS / 2, value: fact }];
  const ids = (xs: readonly { id: string }[]) => xs.map((x) => x.id);

  it('is the newest `max` of those within `days` before it, oldest first', () => {
    expect(ids(exportsBefore(list, list[10]!, 5, 3))).toEqual(['R07', 'R08', 'R09']);
    expect(ids(exportsBefore(list, list[10]!, 2, 30))).toEqual(['R08', 'R09']);
    expect(ids(exportsBefore(list, list[3]!, 90, 30))).toEqual(['R00', 'R01', 'R02']);
    expect(exportsBefore(list, list[0]!, 90, 30)).toEqual([]);
  });

  it('counts an export at the same instant only if it comes first in the list (ties by id)', () => {
    expect(ids(exportsBefore(list, list[11]!, 1, 30))).toEqual(['R09', 'R10']);
    expect(ids(exportsBefore(list, list[10]!, 1, 30))).toEqual(['R09']);
  });

  it('finds the export by id when handed a copy of it', () => {
    expect(ids(exportsBefore(list, { ...list[5]! }, 2, 30))).toEqual(['R03', 'R04']);
  });
});
