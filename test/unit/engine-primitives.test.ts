import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/domain/time.ts';
import { APPLIED_SPAN_DAYS, AppliedReports } from '../../src/state/engine/applied-reports.ts';
import { decodeState, encodeState, type StateCell } from '../../src/state/engine/cell.ts';
import { Counters } from '../../src/state/engine/counters.ts';
import { CHUNK_DAYS, DaySeries } from '../../src/state/engine/day-series.ts';
import { MaterialBookCell } from '../../src/state/engine/material-book.ts';
import { KeyedLists } from '../../src/state/engine/keyed-lists.ts';
import { LastSeen } from '../../src/state/engine/last-seen.ts';
import { OpenItems } from '../../src/state/engine/open-items.ts';
import { PRICE_HISTORY_KEPT, PriceHistory } from '../../src/state/engine/price-history.ts';
import { ProducerState } from '../../src/state/engine/producer-state.ts';
import { RecentEvents } from '../../src/state/engine/recent-events.ts';
import { TimerQueue } from '../../src/state/engine/timer-queue.ts';
import { DELTA_SUFFIX as TIMER_DELTA, writesDelta } from '../../src/state/engine/delta-parts.ts';
import { popDueTimers, ruleStateOf } from '../../src/state/rule-state.ts';
import { EventTimeWatermark } from '../../src/state/engine/watermark.ts';
import { fitsCoding, idCoding, roomyCoding } from '../../src/state/engine/id-lists.ts';
import { FLOW_KINDS, MAX_SUBJECT_IDS } from '../../src/state/store.ts';

/** Saves a cell's changes into `stored` (as a durability would) and returns what was written. */
function save(cell: StateCell, stored: Map<string, string>): Map<string, string | null> {
  const changes = cell.drainChanges();
  for (const [part, text] of changes) {
    if (text === null) stored.delete(part);
    else stored.set(part, text);
  }
  return changes;
}

function reload<C extends StateCell>(stored: Map<string, string>, create: () => C): C {
  const cell = create();
  for (const [part, text] of stored) cell.restorePart(part, text);
  return cell;
}

describe('TimerQueue', () => {
  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

  it('fires timers once the clock passes them, in due order then tie order, whatever the scheduling order', () => {
    const orders = [
      ['b', 'a', 'c', 'd'],
      ['d', 'c', 'b', 'a'],
    ];
    const fired = orders.map((order) => {
      const q = new TimerQueue<string>(byName);
      const due: Record<string, number> = { a: 20, b: 10, c: 10, d: 30 };
      for (const k of order) q.schedule(k, due[k]!, k);
      return [q.popDue(9), q.popDue(20), q.popDue(29), q.popDue(30)].map((ts) => ts.map((t) => t.payload));
    });
    expect(fired[0]).toEqual([[], ['b', 'c', 'a'], [], ['d']]);
    expect(fired[1]).toEqual(fired[0]);
  });

  it('keeps the earlier due time when a key is scheduled again, and forgets a cancelled key', () => {
    const q = new TimerQueue<string>(byName);
    q.schedule('x', 50, 'x');
    q.schedule('x', 20, 'x');
    q.schedule('x', 70, 'x');
    q.schedule('y', 10, 'y');
    q.cancel('y');
    expect(q.nextDueAt()).toBe(20);
    expect(q.popDue(100).map((t) => [t.key, t.dueAt])).toEqual([['x', 20]]);
    expect(q.size).toBe(0);
  });

  it('fires as a plain sorted list would over thousands of replacements and cancellations', () => {
    // As reporting-gap does: a timer set on every report and cancelled by the next, far ahead of
    // the clock, so cancelled ones pile up behind the live; plus other keys set, moved, cancelled.
    let seed = 7;
    const random = (n: number) => Math.floor(((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * n);
    const q = new TimerQueue<string>(byName);
    const model = new Map<string, number>();
    const schedule = (key: string, dueAt: number) => {
      q.schedule(key, dueAt, key);
      if (!(model.get(key)! <= dueAt)) model.set(key, dueAt);
    };
    const cancel = (key: string) => {
      q.cancel(key);
      model.delete(key);
    };
    const fired: string[][] = [];
    const expected: string[][] = [];
    let gap = '';
    for (let step = 0, clock = 0; step < 5000; step += 1) {
      const action = random(10);
      if (action < 6) {
        cancel(gap);
        gap = `gap-${step}`;
        schedule(gap, clock + 500 + random(100));
      } else if (action < 8) schedule(`k${random(50)}`, clock + random(300));
      else if (action < 9) cancel(`k${random(50)}`);
      else {
        clock += random(60);
        fired.push(q.popDue(clock).map((t) => `${t.key}@${t.dueAt}`));
        const due = [...model].filter(([, at]) => at <= clock).sort(([ka, a], [kb, b]) => a - b || byName(ka, kb));
        for (const [k] of due) model.delete(k);
        expected.push(due.map(([k, at]) => `${k}@${at}`));
      }
      expect(q.size).toBe(model.size);
      expect(q.nextDueAt()).toBe(model.size === 0 ? undefined : Math.min(...model.values()));
    }
    expect(fired).toEqual(expected);
    expect(fired.flat().length).toBeGreaterThan(500);
  });

  it('fires the same after being saved and reloaded', () => {
    const q = new TimerQueue<string>(byName);
    for (const [k, at] of [['p', 5], ['q', 5], ['r', 1]] as const) q.schedule(k, at, k);
    const stored = new Map<string, string>();
    save(q, stored);
    expect(reload(stored, () => new TimerQueue<string>(byName)).popDue(5).map((t) => t.key)).toEqual(['r', 'p', 'q']);
  });

  it('writes the same text as a queue freshly filled with its timers, save after save', () => {
    const q = new TimerQueue<{ n: number }>((a, b) => a.n - b.n);
    const stored = new Map<string, string>();
    for (let i = 0; i < 40; i += 1) {
      q.schedule(`k${i % 7}`, 100 - i, { n: i % 7 === 3 ? -0 : i });
      if (i % 5 === 0) q.cancel(`k${(i + 2) % 7}`);
      if (i % 9 === 0) q.popDue(100 - i + 3);
      if (i % 3 !== 0) continue;
      const written = save(q, stored).get('') ?? null;
      const fresh = new TimerQueue<{ n: number }>((a, b) => a.n - b.n);
      for (const t of q.peekDue(Infinity)) fresh.schedule(t.key, t.dueAt, t.payload);
      const back = reload(stored, () => new TimerQueue<{ n: number }>((a, b) => a.n - b.n));
      expect(back.peekDue(Infinity)).toEqual(q.peekDue(Infinity));
      if (written !== null) expect(decodeState(written)).toEqual(decodeState(fresh.drainChanges().get('')!));
    }
  });
});

describe('writesDelta', () => {
  it('writes a delta from 8 entries held while d² ≤ 2n, never an empty one', () => {
    expect([writesDelta(7, 1), writesDelta(8, 1), writesDelta(8, 4), writesDelta(8, 5), writesDelta(100, 14), writesDelta(100, 15), writesDelta(50, 0)]).toEqual([false, true, true, false, true, false, false]);
  });
});

describe('TimerQueue base and delta parts', () => {
  it('keeps no record of changed keys while it has never been saved or read back (an in-memory replay)', () => {
    const q = new TimerQueue<string>((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (let day = 0; day < 500; day += 1) {
      q.schedule(`deficit|NDFEB_MAGNET|${day}`, day, 'x');
      q.popDue(day);
    }
    expect((q as unknown as { sinceBase?: Set<string> }).sinceBase).toBeUndefined();
    q.schedule('y', 1_000, 'y');
    expect([...q.drainChanges().keys()]).toEqual(['']);
    q.schedule('z', 2_000, 'z');
    expect((q as unknown as { sinceBase?: Set<string> }).sinceBase).toEqual(new Set(['z']));
  });

  const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const fill = (q: TimerQueue<string>, n: number) => {
    for (let i = 0; i < n; i += 1) q.schedule(`transfer|SHP-${1000 + i}`, 1_000 + i, `SHP-${1000 + i}`);
  };
  const reloadReversed = (stored: Map<string, string>) => reload(new Map([...stored].reverse()), () => new TimerQueue<string>(byName));

  it('writes only the keys moved since the base while they are few, and the base again once they are not', () => {
    const q = new TimerQueue<string>(byName);
    const stored = new Map<string, string>();
    fill(q, 30);
    expect([...save(q, stored).keys()]).toEqual(['']);
    const base = stored.get('')!;
    q.schedule('transfer|SHP-2000', 5_000, 'SHP-2000');
    const first = save(q, stored);
    expect([...first.keys()]).toEqual([TIMER_DELTA]);
    expect(first.get(TIMER_DELTA)!.length).toBeLessThan(base.length / 10);
    q.popDue(1_000); // fires SHP-1000, a base timer: the delta names it as removed
    expect(decodeState(save(q, stored).get(TIMER_DELTA)!)).toEqual([['transfer|SHP-2000', 5_000, 'SHP-2000'], ['transfer|SHP-1000']]);
    // The base is written again once the delta would hold 9 keys among 37 timers (9² > 2 × 37; 8² ≤ 2 × 36).
    const written: string[][] = [];
    for (let i = 0; i < 7; i += 1) {
      q.schedule(`transfer|SHP-${3000 + i}`, 6_000 + i, `SHP-${3000 + i}`);
      written.push([...save(q, stored).keys()]);
    }
    expect(written).toEqual([[TIMER_DELTA], [TIMER_DELTA], [TIMER_DELTA], [TIMER_DELTA], [TIMER_DELTA], [TIMER_DELTA], ['', TIMER_DELTA]]);
    expect(stored.has(TIMER_DELTA)).toBe(false);
    expect(reload(stored, () => new TimerQueue<string>(byName)).peekDue(Infinity)).toEqual(q.peekDue(Infinity));
  });

  it('reads back the same queue whichever part comes first, removals included', () => {
    const q = new TimerQueue<string>(byName);
    const stored = new Map<string, string>();
    fill(q, 12);
    save(q, stored);
    q.cancel('transfer|SHP-1003');
    q.schedule('transfer|SHP-1005', 500, 'moved earlier');
    q.schedule('transfer|SHP-9000', 700, 'SHP-9000');
    save(q, stored);
    expect(stored.has(TIMER_DELTA)).toBe(true);
    for (const back of [reload(stored, () => new TimerQueue<string>(byName)), reloadReversed(stored)]) {
      expect(back.size).toBe(12);
      expect(back.dueAtOf('transfer|SHP-1003')).toBeUndefined();
      expect(back.popDue(1_001).map((t) => t.payload)).toEqual(['moved earlier', 'SHP-9000', 'SHP-1000', 'SHP-1001']);
    }
  });

  it('removes both parts when the queue empties, and starts again from a base', () => {
    const q = new TimerQueue<string>(byName);
    const stored = new Map<string, string>();
    fill(q, 10);
    save(q, stored);
    q.schedule('x', 1, 'x');
    save(q, stored);
    q.popDue(Infinity);
    expect(save(q, stored)).toEqual(new Map([['', null], [TIMER_DELTA, null]]));
    expect(stored.size).toBe(0);
    q.schedule('y', 2, 'y');
    expect([...save(q, stored).keys()]).toEqual(['']);
  });

  it('matches a model queue through random schedules, cancels, fires, saves and reloads in either order', () => {
    let seed = 17;
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let q = new TimerQueue<string>(byName);
    const stored = new Map<string, string>();
    const model = new Map<string, number>();
    let saves = 0;
    let deltaOnly = 0;
    for (let step = 0; step < 3_000; step += 1) {
      const key = `k${Math.floor(random() * 40)}`;
      const roll = random();
      if (roll < 0.55) {
        const at = Math.floor(random() * 1_000) + step;
        q.schedule(key, at, key);
        if (!(model.get(key)! <= at)) model.set(key, at);
      } else if (roll < 0.7) {
        q.cancel(key);
        model.delete(key);
      } else if (roll < 0.8) {
        const fired = q.popDue(step);
        const expected = [...model].filter(([, at]) => at <= step).sort(([ka, a], [kb, b]) => a - b || byName(ka, kb));
        expect(fired.map((t) => [t.key, t.dueAt])).toEqual(expected);
        for (const [k] of expected) model.delete(k);
      } else {
        const changes = save(q, stored);
        saves += 1;
        if (changes.size === 1 && changes.has(TIMER_DELTA)) deltaOnly += 1;
        q = random() < 0.5 ? reload(stored, () => new TimerQueue<string>(byName)) : reloadReversed(stored);
        expect(new Map(q.peekDue(Infinity).map((t) => [t.key, t.dueAt]))).toEqual(model);
      }
    }
    expect(saves).toBeGreaterThan(400);
    expect(deltaOnly).toBeGreaterThan(saves / 4);
  });
});

describe('EventTimeWatermark', () => {
  it('is the minimum of the partitions latest times less the lateness, and never goes back', () => {
    const w = new EventTimeWatermark(10);
    expect(w.current()).toBe(-Infinity);
    expect(w.observe('p0', 100)).toBe(90);
    expect(w.observe('p1', 50)).toBe(90); // a new, slower partition cannot pull it back
    expect(w.observe('p0', 200)).toBe(90);
    expect(w.observe('p1', 150)).toBe(140);
    expect(w.observe('p1', 120)).toBe(140); // a late event on a partition changes nothing
  });

  it('waits for every partition it is told of, so the order partitions are read in cannot move it early', () => {
    const events: [string, number][] = [['a', 5], ['b', 7], ['a', 9], ['b', 12], ['c', 11], ['c', 20]];
    const steps = (list: [string, number][]) => {
      const w = new EventTimeWatermark(0, ['a', 'b', 'c']);
      return list.map(([p, t]) => w.observe(p, t));
    };
    expect(steps(events)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity, 9, 9]);
    // Partition by partition, as a replay of one topic after another might read them.
    const byPartition = [...events].sort((x, y) => x[0].localeCompare(y[0]) || x[1] - y[1]);
    expect(steps(byPartition).at(-1)).toBe(9);
    expect(steps(byPartition).slice(0, 4)).toEqual([-Infinity, -Infinity, -Infinity, -Infinity]);
  });

  it('refuses a negative lateness', () => {
    expect(() => new EventTimeWatermark(-1)).toThrow(/lateness/);
  });
});

describe('DaySeries', () => {
  it('writes back only the chunks whose days changed, and reads back the same days in order', () => {
    const s = new DaySeries<number>();
    const stored = new Map<string, string>();
    const C = CHUNK_DAYS;
    for (const day of [2 * C + 8, 3, C + 1, 2]) s.set(day, day * 10);
    expect([...save(s, stored).keys()].sort()).toEqual(['0', '1', '2']);
    s.update(2 * C + 9, () => 0, () => undefined);
    expect([...save(s, stored).keys()]).toEqual(['2']);
    s.deleteBefore(C + 1);
    expect(save(s, stored).get('0')).toBeNull();
    const back = reload(stored, () => new DaySeries<number>());
    expect(back.days).toEqual([C + 1, 2 * C + 8, 2 * C + 9]);
    expect(back.get(2 * C + 8)).toBe((2 * C + 8) * 10);
    expect(back.lastDayAtOrBefore(2 * C + 7)).toBe(C + 1);
    expect(back.lastDayAtOrBefore(C)).toBeUndefined();
  });

  it('writes a day as its place in its chunk, and still reads chunks written with whole day numbers', () => {
    const C = CHUNK_DAYS;
    const s = new DaySeries<number>();
    const day = 635 * C + 3;
    s.set(day, 7);
    const text = s.drainChanges().get('635')!;
    expect(text).toBe('[[3,7]]');
    const back = new DaySeries<number>();
    back.restorePart('635', text);
    expect(back.days).toEqual([day]);
    const first = new DaySeries<number>();
    first.restorePart('635', JSON.stringify([[day, 7]]));
    expect(first.days).toEqual([day]);
    expect(first.get(day)).toBe(7);
    // Chunk -1 (days before 1970): places 0..31, whole numbers -32..-1.
    const early = new DaySeries<number>();
    early.restorePart('-1', JSON.stringify([[-5, 1], [30, 2]]));
    expect(early.days).toEqual([-5, -2]);
  });

  it('writes a chunk as the same text as encoding it whole, after updates in place, -0, deletes and a reload', () => {
    const C = CHUNK_DAYS;
    const s = new DaySeries<{ kg: number; ids: string[] }>();
    const stored = new Map<string, string>();
    const whole = (series: DaySeries<{ kg: number; ids: string[] }>, chunk: number) => encodeState(series.chunkEntries(chunk));
    for (const day of [1, 2, 3]) s.set(day, { kg: day, ids: [`r${day}`] });
    save(s, stored);
    // Changed in place through update after the chunk was written: the new value, not the kept text.
    s.update(2, () => ({ kg: 0, ids: [] }), (v) => {
      v.kg = -0;
      v.ids.push('r2b');
    });
    const written = save(s, stored).get('0')!;
    expect(written).toBe(whole(s, 0));
    expect(decodeState<[number, { kg: number }][]>(written)[1]![1].kg).toBe(-0);
    s.set(C + 1, { kg: 7, ids: [] });
    s.deleteBefore(2);
    const afterDelete = save(s, stored);
    expect(afterDelete.get('0')).toBe(whole(s, 0));
    expect(afterDelete.get('1')).toBe(whole(s, 1));
    const back = reload(stored, () => new DaySeries<{ kg: number; ids: string[] }>());
    back.update(3, () => ({ kg: 0, ids: [] }), (v) => void (v.kg += 1));
    expect(save(back, new Map()).get('0')).toBe(whole(back, 0));
    expect(back.get(3)).toEqual({ kg: 4, ids: ['r3'] });
  });
});

describe('AppliedReports', () => {
  it('remembers results for the window of producer clock, then forgets them and their stored spans', () => {
    const span = APPLIED_SPAN_DAYS * DAY_MS;
    const a = new AppliedReports<string>(span);
    const stored = new Map<string, string>();
    a.remember('r1', 0, 'first');
    a.remember('r2', span, 'second');
    expect(a.get('r1')?.result).toBe('first'); // exactly one window behind: still kept
    expect([...save(a, stored).keys()].sort()).toEqual(['0', '1']);
    a.remember('r3', span + 1, 'third');
    expect(a.get('r1')).toBeUndefined();
    expect(save(a, stored).get('0')).toBeNull();
    const back = reload(stored, () => new AppliedReports<string>(span));
    expect(['r1', 'r2', 'r3'].map((id) => back.get(id)?.result)).toEqual([undefined, 'second', 'third']);
  });

  it('rewrites a span as the same text as encoding its entries whole, with the entries kept from earlier saves', () => {
    const a = new AppliedReports<{ kg: number }>(APPLIED_SPAN_DAYS * DAY_MS);
    a.remember('r1', 10, { kg: -0 });
    save(a, new Map());
    a.remember('r2', 20, { kg: 5 });
    expect(save(a, new Map()).get('0')).toBe(encodeState([[['r', 1]], [[0, 1, 10, { kg: -0 }], [0, 2, 20, { kg: 5 }]]]));
  });

  it('writes the reports added to a span of eight or more as its delta part, then the span whole again once d² > 2n', () => {
    const a = new AppliedReports<string>(14 * DAY_MS);
    const stored = new Map<string, string>();
    const ids = Array.from({ length: 20 }, (_, i) => `RCP-16-${String(23541 + i).padStart(8, '0')}`);
    const written: string[][] = [];
    ids.forEach((id, i) => {
      a.remember(id, 1_000 * (i + 1), i === 9 ? 'checked' : 0 as unknown as string);
      written.push([...save(a, stored)].map(([part, text]) => (text === null ? `-${part}` : part)));
      const back = reload(stored, () => new AppliedReports<string>(14 * DAY_MS));
      for (const known of ids.slice(0, i + 1)) expect(back.get(known)).toEqual(a.get(known));
    });
    // Whole up to 7 reports; then deltas while (n - whole)² ≤ 2n: whole at 7 gives deltas at 8-11, whole
    // at 12 (5² > 24), deltas at 13-18 (6² ≤ 36), whole at 19 (7² > 38), a delta at 20.
    expect(written.map((parts) => parts.join(' '))).toEqual([
      ...Array(7).fill('0'), ...Array(4).fill('0+'), '0 -0+', ...Array(6).fill('0+'), '0 -0+', '0+',
    ]);
    expect(decodeState(stored.get('0+')!)).toEqual([[ids[19], 20_000, 0]]);
    expect(reload(stored, () => new AppliedReports<string>(14 * DAY_MS)).get(ids[9]!)?.result).toBe('checked');
  });

  it('folds an older span\'s delta into its whole part once reports go to a later span', () => {
    const a = new AppliedReports<string>(30 * DAY_MS);
    const stored = new Map<string, string>();
    const span = APPLIED_SPAN_DAYS * DAY_MS;
    for (let i = 0; i < 10; i += 1) {
      a.remember(`RCP-16-${String(100 + i).padStart(8, '0')}`, span + 1_000 * (i + 1), `r${i}`);
      save(a, stored);
    }
    expect([...stored.keys()].sort()).toEqual(['1', '1+']);
    a.remember('RCP-16-00000200', 2 * span + 5, 'next span');
    const changes = save(a, stored);
    expect(changes.get('1+')).toBeNull();
    expect([...stored.keys()].sort()).toEqual(['1', '2']);
    const back = reload(stored, () => new AppliedReports<string>(30 * DAY_MS));
    expect(back.get('RCP-16-00000109')?.result).toBe('r9');
    expect(back.get('RCP-16-00000200')?.result).toBe('next span');
  });

  it('reads a span\'s delta after its whole part whatever order the store gives the fields in', () => {
    const a = new AppliedReports<string>(14 * DAY_MS);
    const stored = new Map<string, string>();
    for (let i = 0; i < 10; i += 1) {
      a.remember(`RCP-16-${String(100 + i).padStart(8, '0')}`, 1_000 * (i + 1), `r${i}`);
      save(a, stored);
    }
    expect([...stored.keys()]).toEqual(['0', '0+']);
    const fields = new Map([...stored].reverse().map(([part, text]) => [`applied#${part}`, text]));
    const state = new ProducerState('P-1', fields);
    const back = state.cell('applied', () => new AppliedReports<string>(14 * DAY_MS));
    // In application order: the clock moving on past the window forgets the first reports first.
    back.remember('RCP-16-00000200', 14 * DAY_MS + 2_500, 'later');
    expect(Array.from({ length: 10 }, (_, i) => back.get(`RCP-16-${String(100 + i).padStart(8, '0')}`)?.result)).toEqual([undefined, undefined, 'r2', 'r3', 'r4', 'r5', 'r6', 'r7', 'r8', 'r9']);
  });

  it('forgets the front of a span as the clock moves on, and writes only the reports it keeps', () => {
    const window = 14 * DAY_MS;
    const a = new AppliedReports<string>(window);
    const stored = new Map<string, string>();
    a.remember('r1', 10, 'one');
    a.remember('r2', 20, 'two');
    a.remember('r3', 30, 'three');
    save(a, stored);
    a.remember('r4', window + 25, 'four'); // r1 and r2 fall out of the window, r3 stays
    expect(['r1', 'r2', 'r3', 'r4'].map((id) => a.get(id)?.result)).toEqual([undefined, undefined, 'three', 'four']);
    // Span 0 is written again with r3 alone (whatever the id coding).
    const span0 = save(a, stored).get('0')!;
    expect(decodeState<[unknown, unknown[]]>(span0)[1]).toHaveLength(1);
    expect(reload(new Map([['0', span0]]), () => new AppliedReports<string>(window)).get('r3')).toEqual({ reportId: 'r3', clock: 30, result: 'three' });
    a.remember('r5', window + 31, 'five'); // r3 too: span 0 is gone
    expect(save(a, stored).get('0')).toBeNull();
    const back = reload(stored, () => new AppliedReports<string>(window));
    expect(['r3', 'r4', 'r5'].map((id) => back.get(id)?.result)).toEqual([undefined, 'four', 'five']);
  });

  it('forgets more reports at once than were written at the last save, and writes the ones kept since', () => {
    const window = 14 * DAY_MS;
    const stored = new Map<string, string>();
    const a = new AppliedReports<string>(window);
    const remember = (entries: [string, number, string][]) => entries.forEach(([id, clock, result]) => a.remember(id, clock, result));
    remember([['r1', 10, 'one'], ['r2', 20, 'two']]);
    save(a, stored);
    remember([['r3', 30, 'three'], ['r4', 40, 'four']]); // not saved yet
    a.remember('r5', window + 35, 'five'); // r1, r2 and r3 fall out of the window at once
    expect(['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => a.get(id)?.result)).toEqual([undefined, undefined, undefined, 'four', 'five']);
    save(a, stored);
    const back = reload(stored, () => new AppliedReports<string>(window));
    expect(['r1', 'r2', 'r3', 'r4', 'r5'].map((id) => back.get(id)?.result)).toEqual([undefined, undefined, undefined, 'four', 'five']);
    expect(decodeState<[unknown, unknown[]]>(stored.get('0')!)[1]).toHaveLength(1);
  });

  it('writes report ids per family of ids and clocks from the span start, and still reads spans as first written', () => {
    const span = APPLIED_SPAN_DAYS * DAY_MS;
    const base = 5086 * span;
    const a = new AppliedReports<string>(14 * DAY_MS);
    const reports: [string, number][] = [['RCP-16-00023541', base + 1], ['PRD-16-00052528', base + 5000], ['RCP-16-00023890', base + 9000], ['SHP-16-7', base + 9001]];
    for (const [id, clock] of reports) a.remember(id, clock, `${id} result`);
    const stored = new Map<string, string>();
    const text = save(a, stored).get('5086')!;
    // A family of one id keeps two digits of tail (or all it has), so the next ids of the run fit.
    expect(JSON.parse(text)[0]).toEqual([['RCP-16-00023', 3], ['PRD-16-000525', 2], ['SHP-16-', 1]]);
    const back = reload(stored, () => new AppliedReports<string>(14 * DAY_MS));
    for (const [id, clock] of reports) expect(back.get(id)).toEqual({ reportId: id, clock, result: `${id} result` });

    const first = reload(new Map([['5086', JSON.stringify(reports.map(([id, clock]) => [id, clock, `${id} result`]))]]), () => new AppliedReports<string>(14 * DAY_MS));
    for (const [id, clock] of reports) expect(first.get(id)).toEqual({ reportId: id, clock, result: `${id} result` });
  });
});

describe('Counters, LastSeen, OpenItems, RecentEvents', () => {
  it('count to the gram and read back the same', () => {
    const c = new Counters();
    expect(c.add('L1', 0.1)).toEqual({ before: 0, after: 0.1 });
    expect(c.add('L1', 0.2)).toEqual({ before: 0.1, after: 0.3 });
    const stored = new Map<string, string>();
    save(c, stored);
    expect(reload(stored, () => new Counters()).get('L1')).toBe(0.3);
  });

  it('KeyedLists drops items before a time, then keys left empty, then itself', () => {
    const lists = new KeyedLists<{ at: number; id: string }>();
    lists.set('a', [{ at: 1, id: 'x' }, { at: 5, id: 'y' }]);
    lists.set('b', [{ at: 2, id: 'z' }]);
    const stored = new Map<string, string>();
    expect([...save(lists, stored).values()]).toEqual(['[["a",[{"at":1,"id":"x"},{"at":5,"id":"y"}]],["b",[{"at":2,"id":"z"}]]]']);
    lists.dropBefore(1, (i) => i.at);
    expect(lists.drainChanges().size).toBe(0);
    lists.dropBefore(3, (i) => i.at);
    expect(save(lists, stored).get('')).toBe('[["a",[{"at":5,"id":"y"}]]]');
    expect(reload(stored, () => new KeyedLists<{ at: number; id: string }>()).get('a')).toEqual([{ at: 5, id: 'y' }]);
    lists.dropBefore(6, (i) => i.at);
    expect(lists.get('a')).toBeUndefined();
    expect(save(lists, stored).get('')).toBeNull();
    expect(stored.size).toBe(0);
  });

  it('LastSeen only moves forward', () => {
    const l = new LastSeen();
    expect(l.advance('p', 10)).toBe(10);
    expect(l.advance('p', 5)).toBe(10);
    expect(l.get('p')).toBe(10);
  });

  it('OpenItems keeps the first opening of an id until it is closed', () => {
    const o = new OpenItems<string>();
    expect(o.open('S1', { dueAt: 5, value: 'first' })).toBe(true);
    expect(o.open('S1', { dueAt: 9, value: 'again' })).toBe(false);
    expect(o.close('S1')).toEqual({ dueAt: 5, value: 'first' });
    expect(o.close('S1')).toBeUndefined();
  });

  it('RecentEvents keeps event-time order, ignores repeats and stays within count and age', () => {
    const r = new RecentEvents<number>({ maxPerKey: 3, maxAgeMs: 100 });
    for (const [id, at] of [['e2', 20], ['e1', 10], ['e3', 30]] as const) r.add('k', { id, at, value: at });
    expect(r.add('k', { id: 'e2', at: 20, value: 0 })).toBe(false);
    expect(r.list('k').map((e) => e.id)).toEqual(['e1', 'e2', 'e3']);
    r.add('k', { id: 'e4', at: 40, value: 40 });
    expect(r.list('k').map((e) => e.id)).toEqual(['e2', 'e3', 'e4']);
    r.add('k', { id: 'e5', at: 135, value: 135 });
    expect(r.list('k').map((e) => e.id)).toEqual(['e4', 'e5']);
    expect(r.list('k', 100).map((e) => e.id)).toEqual(['e5']);
  });

  it('RecentEvents is saved compactly and reads back the same, and still reads the first stored form', () => {
    const restored = <T>(text: string) => {
      const r = new RecentEvents<T>({ maxPerKey: 10, maxAgeMs: 1000 });
      r.restorePart('', text);
      return r;
    };
    const exports = new RecentEvents<{ kg: number; clientId: string; licenceId: string | null }>({ maxPerKey: 10, maxAgeMs: 1000 });
    exports.add('M', { id: 'S1', at: 10, value: { kg: 590, clientId: 'C-1', licenceId: null } });
    exports.add('M', { id: 'S2', at: 20, value: { kg: -0, clientId: 'C-2', licenceId: 'L-1' } });
    exports.add('N', { id: 'S3', at: 15, value: { kg: 1.5, clientId: 'C-1', licenceId: null } });
    const text = exports.drainChanges().get('')!;
    // The field names once, not once per event.
    expect(text.match(/clientId/g)).toHaveLength(1);
    const back = restored<{ kg: number; clientId: string; licenceId: string | null }>(text);
    expect([...back.keys()]).toEqual(['M', 'N']);
    expect(back.list('M')).toEqual(exports.list('M'));
    expect(Object.is(back.list('M')[1]!.value.kg, -0)).toBe(true);
    expect(back.list('N')).toEqual(exports.list('N'));

    // Values that are not flat objects of the same fields are written as they are.
    const mixed = new RecentEvents<unknown>({ maxPerKey: 10, maxAgeMs: 1000 });
    mixed.add('k', { id: 'a', at: 1, value: { x: 1 } });
    mixed.add('k', { id: 'b', at: 2, value: { y: [1, 2] } });
    mixed.add('k', { id: 'c', at: 3, value: 7 });
    expect(restored<unknown>(mixed.drainChanges().get('')!).list('k')).toEqual(mixed.list('k'));

    // As the first version wrote it: [key, {id, at, value}[]][].
    const v1 = restored<{ kg: number }>(JSON.stringify([['M', [{ id: 'S1', at: 10, value: { kg: 5 } }]]]));
    expect(v1.list('M')).toEqual([{ id: 'S1', at: 10, value: { kg: 5 } }]);

    // The second version: field names once, each event [id, at, field values].
    const v2 = restored<{ kg: number; clientId: string }>(JSON.stringify({ fields: ['kg', 'clientId'], keys: [['M', [['S1', 10, [5, 'C-1']]]]] }));
    expect(v2.list('M')).toEqual([{ id: 'S1', at: 10, value: { kg: 5, clientId: 'C-1' } }]);
  });

  it('RecentEvents writes ids and text fields as shared prefix and tails, times as steps, and gives them back exactly', () => {
    type Export = { kg: number; clientId: string; shipmentId: string; licenceId: string | null };
    const r = new RecentEvents<Export>({ maxPerKey: 10, maxAgeMs: 10 ** 12 });
    r.add('M', { id: 'SHP-16-00002341', at: 1749208741255, value: { kg: 701, clientId: 'C-0022', shipmentId: 'SH-16-00002341', licenceId: 'L-000001' } });
    r.add('M', { id: 'SHP-16-00003438', at: 1749580076779, value: { kg: 875, clientId: 'C-0022', shipmentId: 'SH-16-00003438', licenceId: null } });
    r.add('M', { id: 'SHP-16-0003438x', at: 1749580076780, value: { kg: 1, clientId: 'C-0107', shipmentId: '007', licenceId: 'L-000002' } });
    r.add('N', { id: 'SHP-16-00004000', at: 1749580076779, value: { kg: 2, clientId: 'C-0022', shipmentId: 'SH-16-00004000', licenceId: 'L-000001' } });
    const text = r.drainChanges().get('')!;
    expect(text).not.toContain('1749580076780'); // a step of 1 ms
    const back = new RecentEvents<Export>({ maxPerKey: 10, maxAgeMs: 10 ** 12 });
    back.restorePart('', text);
    expect(back.list('M')).toEqual(r.list('M'));
    expect(back.list('N')).toEqual(r.list('N'));

    // Times that are not whole numbers are written as they are.
    const odd = new RecentEvents<number>({ maxPerKey: 10, maxAgeMs: 1000 });
    odd.add('k', { id: 'a', at: 0.1, value: 1 });
    odd.add('k', { id: 'b', at: 0.3, value: 2 });
    const oddBack = new RecentEvents<number>({ maxPerKey: 10, maxAgeMs: 1000 });
    oddBack.restorePart('', odd.drainChanges().get('')!);
    expect(oddBack.list('k')).toEqual(odd.list('k'));
  });
});

describe('PriceHistory', () => {
  const t = (day: number) => 20_100 * DAY_MS + day * DAY_MS;

  it('gives each price the earlier ones of its material in (occurredAt, reportId) order, whatever the arrival order', () => {
    const prices = new PriceHistory();
    // Arrives out of order: r3 (day 3) before r2 (day 2); equal times order by reportId.
    expect([prices.observe('DY_OXIDE', 'r1', t(1), 200), prices.observe('DY_OXIDE', 'r3', t(3), 230.5), prices.observe('DY_OXIDE', 'r2', t(2), 210), prices.observe('DY_OXIDE', 'r2b', t(2), 215)]).toEqual([[], [200], [200], [200, 210]]);
    // Another material has a history of its own.
    expect(prices.observe('TB_OXIDE', 'x1', t(5), 9)).toEqual([]);
    // A report already held gets the same answer and is not added again; a later one sees all four.
    expect(prices.observe('DY_OXIDE', 'r2', t(2), 210)).toEqual([200]);
    expect(prices.observe('DY_OXIDE', 'r4', t(4), 100)).toEqual([200, 210, 215, 230.5]);
    // The same instant: ordered by reportId.
    expect([prices.observe('DY_OXIDE', 'r3b', t(3), 231), prices.observe('DY_OXIDE', 'r3a', t(3), 229)]).toEqual([
      [200, 210, 215, 230.5],
      [200, 210, 215, 230.5],
    ]);
  });

  it('keeps at most PRICE_HISTORY_KEPT earlier prices per material', () => {
    const prices = new PriceHistory();
    for (let i = 0; i < PRICE_HISTORY_KEPT + 10; i += 1) prices.observe('M', `k-${String(i).padStart(3, '0')}`, t(0) + i, i);
    expect(prices.observe('M', 'k-last', t(1), -1)).toEqual(Array.from({ length: PRICE_HISTORY_KEPT }, (_, i) => i + 10));
  });

  it('keeps one price more than it returns, so a report arriving just before the newest still sees PRICE_HISTORY_KEPT', () => {
    const prices = new PriceHistory();
    for (let i = 0; i < PRICE_HISTORY_KEPT + 10; i += 1) prices.observe('M', `k-${String(i).padStart(3, '0')}`, t(0) + 10 * i, i);
    // Between the last two: every kept price but the newest comes before it.
    const late = prices.observe('M', 'late', t(0) + 10 * (PRICE_HISTORY_KEPT + 8) + 5, -1);
    expect(late).toHaveLength(PRICE_HISTORY_KEPT);
    expect(late.at(-1)).toBe(PRICE_HISTORY_KEPT + 8);
  });

  it('does not keep a price that is not finite, which could not be saved as it is', () => {
    const stored = new Map<string, string>();
    const prices = new PriceHistory();
    prices.observe('M', 'a', t(1), 10);
    expect(prices.observe('M', 'b', t(2), Number.POSITIVE_INFINITY)).toEqual([10]);
    expect(prices.observe('M', 'c', t(3), 12)).toEqual([10]);
    save(prices, stored);
    expect(reload(stored, () => new PriceHistory()).observe('M', 'd', t(4), 13)).toEqual([10, 12]);
  });

  it('saves only the materials that took a new price, and reads back the same history', () => {
    const stored = new Map<string, string>();
    const prices = new PriceHistory();
    prices.observe('A', 'a1', t(1), 10);
    prices.observe('B', 'b1', t(1), 20);
    expect([...save(prices, stored).keys()].sort()).toEqual(['A', 'B']);
    prices.observe('A', 'a2', t(2), 11);
    // A repeat changes nothing: nothing to write for it.
    prices.observe('B', 'b1', t(1), 20);
    expect([...save(prices, stored).keys()]).toEqual(['A']);
    const back = reload(stored, () => new PriceHistory());
    expect(back.observe('A', 'a3', t(3), 12)).toEqual([10, 11]);
    expect(back.observe('B', 'b0', t(0), 19)).toEqual([]);
    expect(back.observe('B', 'b2', t(2), 21)).toEqual([19, 20]);
  });
});

describe('ProducerState', () => {
  it('stores each cell under its own fields and rebuilds only the cells asked for', () => {
    const state = new ProducerState('P1');
    state.cell('licence-use', () => new Counters()).add('L1', 5);
    state.cell('flows:M', () => new DaySeries<number>()).set(CHUNK_DAYS + 1, 1);
    const fields = state.drainChanges();
    expect([...fields.keys()].sort()).toEqual(['flows:M#1', 'licence-use']);
    expect(state.drainChanges().size).toBe(0);

    const back = new ProducerState('P1', new Map([...fields].map(([f, t]) => [f, t!])));
    expect(back.cell('licence-use', () => new Counters()).get('L1')).toBe(5);
    expect(back.cell('flows:M', () => new DaySeries<number>()).get(CHUNK_DAYS + 1)).toBe(1);
  });
});

describe('MaterialBookCell', () => {
  it('saves a day without its trailing zero totals and reads back the same, and reads all five totals as first written', () => {
    const book = new MaterialBookCell();
    book.flows.add(5, 'produced', 356.1);
    book.flows.add(6, 'shipped', 10);
    book.flows.add(6, 'exported', -0.0001); // rounds to -0 kg
    book.stock.set(6, { kg: 12, reportId: 'INV-1' });
    book.outflows.set(6, ['SHP-1']);
    const parts = book.drainChanges();
    const text = parts.get('0')!;
    expect(text).toContain('[5,356.1]'); // flat: [place, ...totals]
    expect(text).toContain('[6,12,"INV-1"]');
    const back = new MaterialBookCell();
    back.restorePart('0', text);
    expect(back.flows.get(5)).toEqual({ produced: 356.1, received: 0, consumed: 0, shipped: 0, exported: 0 });
    expect(Object.is(book.flows.get(6)!.exported, -0)).toBe(true);
    expect(Object.is(back.flows.get(6)!.exported, -0)).toBe(true);
    expect(back.flows.get(6)).toEqual(book.flows.get(6));
    expect(back.stock.get(6)).toEqual({ kg: 12, reportId: 'INV-1' });
    expect(back.outflows.get(6)).toEqual(['SHP-1']);

    const first = new MaterialBookCell();
    first.restorePart('0', JSON.stringify([[[5, [356.1, 0, 0, 0, 0]]], [[6, [12, 'INV-1']]], []]));
    expect(first.flows.get(5)).toEqual({ produced: 356.1, received: 0, consumed: 0, shipped: 0, exported: 0 });
    expect(first.stock.get(6)).toEqual({ kg: 12, reportId: 'INV-1' });
    expect(first.flows.days).toEqual([5]);
  });

  it('adds each kind of flow to its own total, in FLOW_KINDS order in the packed totals', () => {
    FLOW_KINDS.forEach((kind, i) => {
      const book = new MaterialBookCell();
      book.flows.add(7, kind, 2.5);
      expect(book.flows.get(7)![kind]).toBe(2.5);
      expect(book.view.flowTotals.map((kg, at) => (at === i ? kg : 0))).toEqual(book.view.flowTotals);
      expect(book.view.flowTotals[i]).toBe(2.5);
    });
  });

  it('writes the days changed since a chunk was written whole as its delta part, and the chunk whole once pruned or d² > 2n', () => {
    const book = new MaterialBookCell();
    const stored = new Map<string, string>();
    const base = 40 * CHUNK_DAYS;
    for (let d = 0; d < 12; d += 1) {
      book.flows.add(base + d, 'produced', 100 + d);
      book.addOutflow(base + d, `SHP-16-${String(7000 + d).padStart(8, '0')}`);
    }
    book.stock.set(base, { kg: 50, reportId: 'INV-16-00000001' });
    expect([...save(book, stored).keys()]).toEqual(['40']);
    const whole = stored.get('40')!;
    // One report on the newest day: that day's flows and outflows alone (25 days held, 2 changed).
    book.flows.add(base + 11, 'shipped', 7);
    book.addOutflow(base + 11, 'SHP-16-00009999');
    const first = save(book, stored);
    expect([...first.keys()]).toEqual(['40+']);
    expect(JSON.parse(first.get('40+')!)).toEqual([[[11, 111, 0, 0, 7]], [], [[11, ['SHP-16-00007011', 'SHP-16-00009999']]]]);
    expect(first.get('40+')!.length).toBeLessThan(whole.length / 3);
    const sameAsBook = (back: MaterialBookCell) => {
      expect(back.flows.days).toEqual(book.flows.days);
      for (const d of book.flows.days) expect(back.flows.get(d)).toEqual(book.flows.get(d));
      for (const d of book.outflows.days) expect(back.outflows.get(d)).toEqual(book.outflows.get(d));
      expect(back.stock.days).toEqual(book.stock.days);
      for (const d of book.stock.days) expect(back.stock.get(d)).toEqual(book.stock.get(d));
    };
    // Read back in either field order (the delta after the whole part, producer-state.ts).
    for (const order of [[...stored], [...stored].reverse()]) {
      const state = new ProducerState('P-1', new Map(order.map(([part, text]) => [`book:NDFEB_MAGNET#${part}`, text])));
      const back = state.cell('book:NDFEB_MAGNET', () => new MaterialBookCell());
      sameAsBook(back);
      // The next change's delta still holds the days of the delta read back.
      back.flows.add(base + 3, 'produced', 1);
      expect(JSON.parse(back.drainChanges().get('40+')!)[0].map((day: number[]) => day[0])).toEqual([3, 11]);
    }
    // A new day each save: the delta grows until d² > 2n, then the chunk is written whole and the delta removed.
    const written: string[] = [];
    for (let d = 12; d < 20; d += 1) {
      book.flows.add(base + d, 'produced', 1);
      written.push([...save(book, stored)].map(([part, text]) => (text === null ? `-${part}` : part)).join(' '));
    }
    expect(written).toContain('40 -40+');
    expect(written[0]).toBe('40+');
    sameAsBook(reload(stored, () => new MaterialBookCell()));
    // Pruning drops days from the chunk: written whole.
    book.stock.set(base + 15, { kg: 60, reportId: 'INV-16-00000002' });
    save(book, stored);
    book.prune(base + 16);
    expect(save(book, stored).get('40')).toMatch(/^\[\[/);
    expect(book.stock.days).toEqual([base + 15]);
    expect(stored.has('40+')).toBe(false);
    sameAsBook(reload(stored, () => new MaterialBookCell()));
  });

  it('folds an older chunk\'s delta into its whole part once a later chunk changes', () => {
    const book = new MaterialBookCell();
    const stored = new Map<string, string>();
    const base = 40 * CHUNK_DAYS;
    for (let d = 0; d < 10; d += 1) book.flows.add(base + d, 'produced', 1);
    save(book, stored);
    book.flows.add(base + 9, 'produced', 1);
    save(book, stored);
    expect([...stored.keys()].sort()).toEqual(['40', '40+']);
    book.flows.add(base + CHUNK_DAYS, 'produced', 5); // the first day of chunk 41
    const changes = save(book, stored);
    expect(changes.get('40+')).toBeNull();
    expect(JSON.parse(changes.get('40')!)[0].at(-1)).toEqual([9, 2]);
    expect([...stored.keys()].sort()).toEqual(['40', '41']);
    expect(reload(stored, () => new MaterialBookCell()).flows.get(base + 9)!.produced).toBe(2);
  });

  it('writes a day changed again after a save, however often it changed before', () => {
    const book = new MaterialBookCell();
    const stored = new Map<string, string>();
    const day = 20 * CHUNK_DAYS + 5;
    book.flows.add(day, 'produced', 1);
    book.flows.add(day, 'produced', 2);
    book.addOutflow(day, 'SHP-1');
    expect(save(book, stored).size).toBe(1);
    const first = reload(stored, () => new MaterialBookCell());
    expect(first.flows.get(day)!.produced).toBe(3);
    expect(first.outflows.get(day)).toEqual(['SHP-1']);
    book.flows.add(day, 'produced', 4);
    book.addOutflow(day, 'SHP-2');
    book.addOutflow(day, 'SHP-2');
    expect(save(book, stored).size).toBe(1);
    expect(save(book, stored).size).toBe(0);
    const back = reload(stored, () => new MaterialBookCell());
    expect(back.flows.get(day)!.produced).toBe(7);
    expect(back.outflows.get(day)).toEqual(['SHP-1', 'SHP-2']);
  });

  it('writes a chunk\'s outflow ids as their shared prefix and tails, and gives every id back exactly', () => {
    const book = new MaterialBookCell();
    const day = 20 * CHUNK_DAYS;
    book.outflows.set(day + 2, ['PRD-16-00025130', 'PRD-16-00025129']);
    book.outflows.set(day + 3, ['PRD-16-00030470', 'SHP-16-0001']);
    book.outflows.set(day + 4, ['PRD-16-00031107', 'PRD-16-0003110x', 'PRD-16-000', 'PRD-16-00000000000000000001']);
    const text = book.drainChanges().get('20')!;
    const back = new MaterialBookCell();
    back.restorePart('20', text);
    for (const d of [2, 3, 4]) expect(back.outflows.get(day + d)).toEqual(book.outflows.get(day + d));

    const one = new MaterialBookCell();
    one.outflows.set(day + 2, ['PRD-16-00025130', 'PRD-16-00025129']);
    one.outflows.set(day + 5, ['PRD-16-00030470']);
    expect(JSON.parse(one.drainChanges().get('20')!)[2]).toEqual(['PRD-16-000', 5, [[2, [25130, 25129]], [5, [30470]]]]);
    const padded = new MaterialBookCell();
    padded.outflows.set(day + 2, ['SHP-16-00002341', 'SHP-16-00010113']);
    expect(JSON.parse(padded.drainChanges().get('20')!)[2]).toEqual(['SHP-16-000', 5, [[2, [2341, 10113]]]]);
  });

  it('reads outflow ids as first written, whole', () => {
    const first = new MaterialBookCell();
    first.restorePart('20', JSON.stringify([[], [], [[2, ['PRD-16-00025130', 'PRD-16-00025129']], [5, ['SHP-1']]]]));
    expect(first.outflows.get(20 * CHUNK_DAYS + 2)).toEqual(['PRD-16-00025130', 'PRD-16-00025129']);
    expect(first.outflows.get(20 * CHUNK_DAYS + 5)).toEqual(['SHP-1']);
  });

  it('names each outflow report of a day once, in arrival order, at most MAX_SUBJECT_IDS, telling apart ids that contain one another', () => {
    const book = new MaterialBookCell();
    const day = 20 * CHUNK_DAYS + 3;
    for (const id of ['SHP-12', 'SHP-1', 'SHP-123', 'SHP-1', 'SHP-12', 'SHP-2', 'SHP-123']) book.addOutflow(day, id);
    expect(book.outflows.get(day)).toEqual(['SHP-12', 'SHP-1', 'SHP-123', 'SHP-2']);
    expect(book.view.outflowIds.get(day)).toEqual(['SHP-12', 'SHP-1', 'SHP-123', 'SHP-2']);
    const many = Array.from({ length: MAX_SUBJECT_IDS + 5 }, (_, i) => `PRD-16-${String(i).padStart(8, '0')}`);
    for (const id of many) book.addOutflow(day + 1, id);
    expect(book.outflows.get(day + 1)).toEqual(many.slice(0, MAX_SUBJECT_IDS));
    // A list handed out is a copy: changing it changes nothing held.
    book.outflows.get(day)!.push('SHP-9');
    expect(book.outflows.get(day)).toHaveLength(4);
    const back = reload(new Map([...book.drainChanges()].map(([part, text]) => [part, text!])), () => new MaterialBookCell());
    expect(back.outflows.get(day)).toEqual(['SHP-12', 'SHP-1', 'SHP-123', 'SHP-2']);
    expect(back.outflows.get(day + 1)).toEqual(many.slice(0, MAX_SUBJECT_IDS));
  });
});

describe('rule timers as stored', () => {
  it('writes a timer as its key and due time, with the rule payload only when there is one, and reads the first form too', () => {
    const producer = new ProducerState('P1');
    ruleStateOf(producer, 'volume-spike').setTimer('settle', 5);
    ruleStateOf(producer, 'reporting-gap').setTimer('after:R|1', 7, { lastReportId: 'R|1' });
    const text = producer.drainChanges().get('timers')!;
    expect(JSON.parse(text)).toEqual([
      ['volume-spike|settle', 5],
      ['reporting-gap|after:R|1', 7, { lastReportId: 'R|1' }],
    ]);
    const fired = (stored: string) => popDueTimers(new ProducerState('P1', new Map([['timers', stored]])), 10).map((t) => [t.key, t.dueAt, t.payload]);
    const expected = [
      ['volume-spike|settle', 5, { ruleId: 'volume-spike', key: 'settle', payload: {} }],
      ['reporting-gap|after:R|1', 7, { ruleId: 'reporting-gap', key: 'after:R|1', payload: { lastReportId: 'R|1' } }],
    ];
    expect(fired(text)).toEqual(expected);
    const firstForm = JSON.stringify(expected.map(([key, dueAt, payload]) => ({ key, dueAt, payload })));
    expect(fired(firstForm)).toEqual(expected);
  });
});

describe('saves that keep what earlier saves wrote', () => {
  it('roomyCoding leaves digit tails room for the next ids of a run, and fitsCoding says which ids a coding writes', () => {
    expect(idCoding(['SHP-16-00002341', 'SHP-16-00002345'])).toEqual(['SHP-16-0000234', 1]);
    expect(roomyCoding(['SHP-16-00002341', 'SHP-16-00002345'])).toEqual(['SHP-16-000023', 2]);
    expect(roomyCoding(['SHP-16-00002341'])).toEqual(['SHP-16-000023', 2]);
    expect(roomyCoding(['SHP-16-00002341', 'SHP-16-00012345'])).toEqual(['SHP-16-000', 5]);
    expect(roomyCoding(['C-7'])).toEqual(['C-', 1]);
    expect(roomyCoding(['MX'])).toEqual(['MX', 0]);
    expect(roomyCoding(['SHP-1', 'SHP-1x'])).toEqual(['SHP-1', 0]);
    expect(fitsCoding(['SHP-16-000023', 2], 'SHP-16-00002399')).toBe(true);
    expect(fitsCoding(['SHP-16-000023', 2], 'SHP-16-00002400')).toBe(false);
    expect(fitsCoding(['SHP-16-000023', 2], 'SHP-16-0000239')).toBe(false);
    expect(fitsCoding(['SHP-16-000023', 2], 'SHP-16-0000239x')).toBe(false);
    expect(fitsCoding(['SHP-', 0], 'SHP-anything')).toBe(true);
  });

  it('MaterialBookCell keeps a chunk\'s outflow coding while new ids fit it, and codes the chunk again when one does not', () => {
    const day = 20 * CHUNK_DAYS;
    const book = new MaterialBookCell();
    const stored = new Map<string, string>();
    const coding = () => JSON.parse(stored.get('20')!)[2].slice(0, 2);
    book.outflows.set(day + 2, ['PRD-16-00025130']);
    save(book, stored);
    expect(coding()).toEqual(['PRD-16-000251', 2]);
    book.outflows.update(day + 2, () => [], (ids) => ids.push('PRD-16-00025131'));
    book.outflows.set(day + 3, ['PRD-16-00025199']);
    save(book, stored);
    expect(coding()).toEqual(['PRD-16-000251', 2]); // not the tighter ['PRD-16-00025', 3] of a fresh coding
    book.outflows.set(day + 4, ['PRD-16-00025200', 'SHP-16-1']);
    save(book, stored);
    expect(coding()).toEqual(['', 0]);
    book.outflows.deleteBefore(day + 4);
    book.outflows.set(day + 5, ['SHP-16-2']);
    save(book, stored);
    const back = reload(stored, () => new MaterialBookCell());
    for (const d of [2, 3, 4, 5]) expect(back.outflows.get(day + d)).toEqual(book.outflows.get(day + d));
    expect(back.outflows.days).toEqual([day + 4, day + 5]);
  });

  it('AppliedReports writes each report once while its family\'s coding fits, and reads back every report after any run of saves', () => {
    const span = APPLIED_SPAN_DAYS * DAY_MS;
    const a = new AppliedReports<string>(2 * DAY_MS);
    const stored = new Map<string, string>();
    const codings = () => JSON.parse(stored.get('0')!)[0];
    a.remember('RCP-16-00023541', 1, 'r1');
    a.remember('PRD-16-00052528', 2, 'p1');
    save(a, stored);
    expect(codings()).toEqual([['RCP-16-000235', 2], ['PRD-16-000525', 2]]);
    a.remember('RCP-16-00023542', 3, 'r2');
    a.remember('SHP-16-00000007', 4, 's1');
    save(a, stored);
    // RCP- kept (a fresh coding would be ['RCP-16-0002354', 1]), SHP- appended.
    expect(codings()).toEqual([['RCP-16-000235', 2], ['PRD-16-000525', 2], ['SHP-16-000000', 2]]);
    a.remember('RCP-16-00023600', 5, 'r3');
    save(a, stored);
    expect(codings()[0]).toEqual(['RCP-16-00023', 3]);
    const all: [string, number, string][] = [['RCP-16-00023541', 1, 'r1'], ['PRD-16-00052528', 2, 'p1'], ['RCP-16-00023542', 3, 'r2'], ['SHP-16-00000007', 4, 's1'], ['RCP-16-00023600', 5, 'r3']];
    const back = reload(stored, () => new AppliedReports<string>(2 * DAY_MS));
    for (const [id, clock, result] of all) expect(back.get(id)).toEqual({ reportId: id, clock, result });

    // Forgetting from the front of spans, families recoded as ids run on: what reads back is what is held.
    let clock = 6;
    const ids: string[] = [];
    for (let i = 0; i < 300; i += 1) {
      clock += Math.floor(((i * 7919) % 97) * DAY_MS / 40);
      const id = `${['RCP', 'PRD', 'SHP'][i % 3]}-16-${String(23541 + i * 13).padStart(8, '0')}`;
      ids.push(id);
      a.remember(id, clock, `x${i}`);
      if (i % 4 === 0) {
        save(a, stored);
        const again = reload(stored, () => new AppliedReports<string>(2 * DAY_MS));
        for (const known of ids) expect(again.get(known)).toEqual(a.get(known));
        // Each span held: its whole part, and its delta part while it has one.
        expect(stored.size).toBeLessThanOrEqual(2 * (Math.ceil((2 * DAY_MS) / span) + 1));
      }
    }
  });

  it('RecentEvents writes the events added since its whole part as a delta part, read back in either field order', () => {
    type Export = { kg: number; clientId: string };
    const limits = { maxPerKey: 20, maxAgeMs: 10 ** 9 };
    const r = new RecentEvents<Export>(limits);
    const stored = new Map<string, string>();
    const exportOf = (i: number) => ({ id: `SHP-16-${String(5000 + i).padStart(8, '0')}`, at: 1_000 * i, value: { kg: 10 + i, clientId: `C-${i % 3}` } });
    const written: string[] = [];
    for (let i = 0; i < 14; i += 1) {
      r.add(i % 2 === 0 ? 'NDFEB_MAGNET' : 'SMCO_MAGNET', exportOf(i));
      written.push([...save(r, stored)].map(([part, text]) => (text === null ? `-${part}` : part || 'whole')).join(' '));
    }
    // Whole below 8 events; from 8 on, deltas while d² ≤ 2n: d = 1..4 at n = 8..11, whole at 12 (5² > 24), deltas after.
    expect(written).toEqual([...Array(7).fill('whole'), '+', '+', '+', '+', 'whole -+', '+', '+']);
    expect(decodeState(stored.get('+')!)).toEqual([12, 13].map((i) => [i % 2 === 0 ? 'NDFEB_MAGNET' : 'SMCO_MAGNET', exportOf(i).id, exportOf(i).at, exportOf(i).value]));
    expect(stored.get('+')!.length).toBeLessThan(stored.get('')!.length / 2);
    for (const order of [[...stored], [...stored].reverse()]) {
      const state = new ProducerState('P-1', new Map(order.map(([part, text]) => [part ? `shared:exports#${part}` : 'shared:exports', text])));
      const back = state.cell('shared:exports', () => new RecentEvents<Export>(limits));
      for (const key of ['NDFEB_MAGNET', 'SMCO_MAGNET']) expect(back.list(key)).toEqual(r.list(key));
      // Read back, not changed: its next save writes nothing.
      expect(state.drainChanges().size).toBe(0);
    }
  });

  it('RecentEvents writes itself whole after a clear, so no delta is read on top of the events cleared (whatever DELTA_MIN_ENTRIES is)', () => {
    const r = new RecentEvents<number>({ maxPerKey: 50, maxAgeMs: 10 ** 9 });
    const stored = new Map<string, string>();
    for (let i = 0; i < 20; i += 1) r.add('k', { id: `e${i}`, at: i, value: i });
    save(r, stored);
    r.clear();
    for (let i = 0; i < 12; i += 1) r.add('k', { id: `f${i}`, at: 100 + i, value: i });
    expect([...save(r, stored).keys()]).toEqual(['']);
    expect(reload(stored, () => new RecentEvents<number>({ maxPerKey: 50, maxAgeMs: 10 ** 9 })).list('k').map((e) => e.id)).toEqual(r.list('k').map((e) => e.id));
  });

  it('RecentEvents keeps each key\'s codings and entries between saves, and reads back what it holds after any run of adds and saves', () => {
    type Export = { kg: number; clientId: string; shipmentId: string };
    const limits = { maxPerKey: 6, maxAgeMs: 400 };
    const r = new RecentEvents<Export>(limits);
    const stored = new Map<string, string>();
    r.add('M', { id: 'SHP-16-00002341', at: 1000, value: { kg: 7, clientId: 'C-0022', shipmentId: 'SH-9' } });
    save(r, stored);
    const keyOf = (name: string) => (JSON.parse(stored.get('')!).keys as unknown[][]).find((k) => k[0] === name)!;
    expect(keyOf('M')[1]).toEqual(['SHP-16-000023', 2]);
    r.add('M', { id: 'SHP-16-00002342', at: 1010, value: { kg: 8, clientId: 'C-0022', shipmentId: 'SH-9' } });
    save(r, stored);
    expect(keyOf('M')[1]).toEqual(['SHP-16-000023', 2]); // a fresh coding would be ['SHP-16-0000234', 1]

    // Adds in and out of order, repeats, drops by count and by age, keys coming and going through
    // clear, odd times and values of other shapes; a reload after every save reads what is held.
    let seed = 7;
    const next = (n: number) => (seed = (seed * 48271) % 2147483647) % n;
    const check = () => {
      save(r, stored);
      const back = reload(stored, () => new RecentEvents<Export>(limits));
      expect([...back.keys()].sort()).toEqual([...r.keys()].sort());
      for (const key of r.keys()) expect(back.list(key)).toEqual(r.list(key));
    };
    let at = 1010;
    for (let i = 0; i < 600; i += 1) {
      at += next(40);
      const key = ['M', 'N', 'O'][next(3)]!;
      const late = next(5) === 0 ? next(300) : 0;
      const odd = i > 400 && i < 420 && next(4) === 0;
      const value: Export = { kg: next(900), clientId: `C-00${10 + next(30)}`, shipmentId: next(9) === 0 ? `X${i}` : `SH-16-${String(3000 + i).padStart(8, '0')}` };
      const shaped = i > 500 && i < 510 && next(3) === 0 ? ({ ...value, extra: 1 } as Export) : value;
      r.add(key, { id: `SHP-16-${String(2343 + i * (next(3) === 0 ? 11 : 1)).padStart(8, '0')}`, at: (odd ? 0.5 : 0) + at - late, value: shaped });
      if (next(10) === 0) r.add(key, r.list(key)[0]!);
      if (i === 300) r.clear();
      if (next(3) === 0) check();
    }
    check();
  });
});

