/**
 * The store contract, run against every implementation: the state engine in memory (unit suite), on
 * Redis and on a Redis Cluster (integration suite). A store that passes behaves the same under the
 * pipeline. Every expectation is worked out from the semantics in store.ts, not from another store.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DAY_MS, HOUR_MS, dayEnd } from '../../src/domain/time.ts';
import type { EngineStore } from '../../src/state/engine-store.ts';
import { licence } from './builders.ts';
import { SEEN_WINDOW_MS } from '../../src/state/book-timing.ts';
import { MAX_SUBJECT_IDS, RETENTION_DAYS, type ClientSighting, type FiredCheck, type StateUpdate } from '../../src/state/store.ts';
import type { WatchlistEntry } from '../../src/domain/events.ts';

const D0 = 20_100; // a day number (2025-01-12); any will do
const at = (day: number, hour = 12) => day * DAY_MS + hour * HOUR_MS;
const GRACE = 48 * HOUR_MS;

let seq = 0;
function update(partial: Partial<StateUpdate> & Pick<StateUpdate, 'producerId' | 'occurredAt'>): StateUpdate {
  seq += 1;
  return { reportId: `r-${seq}`, flows: [], graceMs: GRACE, ...partial };
}

/** Any valid licence will do for the store: it keeps licences whole, it does not judge them. */
export const sampleLicence = licence;

export interface ContractStore {
  store: EngineStore;
  producer: (id: string) => string;
  cleanup?: () => Promise<void>;
  /**
   * For a durable store: another instance on the same durable state, as after a crash or when a
   * partition moves. It claims what it loads, so with `fences` the first instance's later writes of
   * those producers are refused.
   */
  successor?: () => EngineStore;
  fences?: boolean;
}

export function describeStoreContract(name: string, factory: () => Promise<ContractStore>) {
  describe(`store contract: ${name}`, () => {
    let store: EngineStore;
    let P: (id: string) => string;
    let cleanup: (() => Promise<void>) | undefined;
    let made: ContractStore;
    const others: EngineStore[] = [];

    beforeEach(async () => {
      made = await factory();
      store = made.store;
      P = made.producer;
      cleanup = made.cleanup;
    });
    afterEach(async () => {
      await cleanup?.();
      await store.close();
      for (const other of others.splice(0)) await other.close();
    });

    const successor = (): EngineStore => {
      const other = made.successor!();
      others.push(other);
      return other;
    };

    it('applies a batch in order and moves the producer clock to the largest occurredAt', async () => {
      const p = P('A');
      const results = await store.applyBatch([
        update({ producerId: p, occurredAt: at(D0, 10), flows: [{ material: 'NDPR_OXIDE', kind: 'produced', kg: 100 }] }),
        update({ producerId: p, occurredAt: at(D0, 8), flows: [{ material: 'NDPR_OXIDE', kind: 'produced', kg: 100 }] }),
      ]);
      expect(results.map((r) => r.duplicate)).toEqual([false, false]);
      expect(results.map((r) => r.watermark)).toEqual([at(D0, 10), at(D0, 10)]);
    });

    it('treats a redelivered reportId as a duplicate that returns the first result and changes nothing', async () => {
      const p = P('B');
      const ship = update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 40 }] });
      await store.applyBatch([update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'DY_OXIDE', kind: 'produced', kg: 50 }] })]);
      const first = await store.applyBatch([ship]);
      const again = await store.applyBatch([ship, ship]);
      expect(again[0]).toEqual({ ...first[0], duplicate: true });
      expect(again[1]!.duplicate).toBe(true);
      // Only one 40 kg shipment counts: the balance at the deficit check is 50 - 40.
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0) + GRACE })]);
      expect(tick!.checks).toHaveLength(1);
      expect(tick!.checks[0]).toMatchObject({ kind: 'deficit', material: 'DY_OXIDE', day: D0, bookKg: 10, subjectIds: [ship.reportId] });
      expect(tick!.checks[0]!.totals).toMatchObject({ produced: 50, shipped: 40 });
    });

    it('holds a deficit check until the grace period has passed on the producer clock, and counts late production', async () => {
      const p = P('C');
      const ship = update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 100 }] });
      const [r1] = await store.applyBatch([ship]);
      expect(r1!.checks).toEqual([]);
      // Just before the grace period ends: nothing fires yet.
      const [r2] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0) + GRACE - 1 })]);
      expect(r2!.checks).toEqual([]);
      // Production of the same day, reported late, arrives before the deadline.
      await store.applyBatch([update({ producerId: p, occurredAt: at(D0, 6), flows: [{ material: 'DY_OXIDE', kind: 'produced', kg: 100 }] })]);
      const [r3] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0) + GRACE })]);
      expect(r3!.checks).toHaveLength(1);
      expect(r3!.checks[0]).toMatchObject({ kind: 'deficit', day: D0, bookKg: 0, opening: null });
      // Fired once only.
      const [r4] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0) + GRACE + DAY_MS })]);
      expect(r4!.checks).toEqual([]);
    });

    it('lists every outflow of the day (shipments and consumption) as the subjects of one deficit check', async () => {
      const p = P('D');
      const s1 = update({ producerId: p, occurredAt: at(D0, 9), flows: [{ material: 'NDPR_METAL', kind: 'shipped', kg: 10 }] });
      const c1 = update({
        producerId: p,
        occurredAt: at(D0, 11),
        flows: [
          { material: 'NDFEB_ALLOY', kind: 'produced', kg: 30 },
          { material: 'NDPR_METAL', kind: 'consumed', kg: 9 },
        ],
      });
      await store.applyBatch([s1, c1]);
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0) + GRACE })]);
      expect(tick!.checks).toHaveLength(1);
      expect(tick!.checks[0]).toMatchObject({ material: 'NDPR_METAL', bookKg: -19 });
      expect([...tick!.checks[0]!.subjectIds].sort()).toEqual([s1.reportId, c1.reportId].sort());
    });

    it('starts the book from the latest earlier stock declaration and checks each declaration against the book', async () => {
      const p = P('E');
      const m = 'TB_OXIDE';
      const decl1 = update({ producerId: p, occurredAt: at(D0), declaration: { material: m, onHandKg: 500 } });
      await store.applyBatch([
        decl1,
        update({ producerId: p, occurredAt: at(D0 + 1), flows: [{ material: m, kind: 'produced', kg: 200 }] }),
        update({ producerId: p, occurredAt: at(D0 + 2), flows: [{ material: m, kind: 'shipped', kg: 300 }, { material: m, kind: 'exported', kg: 300 }] }),
      ]);
      const decl2 = update({ producerId: p, occurredAt: at(D0 + 3), declaration: { material: m, onHandKg: 350 } });
      // decl2 moves the clock past the first declaration's deadline; the tick past everything else.
      const [r2] = await store.applyBatch([decl2]);
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0 + 3) + GRACE })]);
      const fired = [...r2!.checks, ...tick!.checks];
      const stock = fired.filter((c) => c.kind === 'stock');
      expect(stock.map((c) => c.day)).toEqual([D0, D0 + 3]);
      expect(stock[0]).toMatchObject({ opening: null, bookKg: 0, declaredKg: 500, subjectIds: [decl1.reportId] });
      expect(stock[1]).toMatchObject({ opening: { day: D0, kg: 500 }, bookKg: 400, declaredKg: 350, subjectIds: [decl2.reportId] });
      expect(stock[1]!.totals).toEqual({ produced: 200, received: 0, consumed: 0, shipped: 300, exported: 300 });
      const deficit = fired.find((c) => c.kind === 'deficit');
      expect(deficit).toMatchObject({ day: D0 + 2, bookKg: 400, opening: { day: D0, kg: 500 } });
    });

    it('fires many checks of one material at once after a silence, each over its own period', async () => {
      const p = P('K');
      const m = 'DY_OXIDE';
      // Days 0..5 ship 10 kg a day; 100 kg are produced on day 1; 500 kg declared on day 2 and 470 on day 4.
      const ships = Array.from({ length: 6 }, (_, d) => update({ producerId: p, occurredAt: at(D0 + d), flows: [{ material: m, kind: 'shipped', kg: 10 }] }));
      await store.applyBatch([
        ...ships.slice().reverse(),
        update({ producerId: p, occurredAt: at(D0 + 1), flows: [{ material: m, kind: 'produced', kg: 100 }] }),
        update({ producerId: p, occurredAt: at(D0 + 4), declaration: { material: m, onHandKg: 470 } }),
        update({ producerId: p, occurredAt: at(D0 + 2), declaration: { material: m, onHandKg: 500 } }),
      ].map((u) => ({ ...u, graceMs: 30 * DAY_MS })));
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: at(D0 + 60) })]);
      expect(tick!.checks.map((c) => [c.kind, c.day - D0, c.opening?.day === undefined ? null : c.opening.day - D0, c.bookKg, c.declaredKg])).toEqual([
        ['deficit', 0, null, -10, undefined],
        ['deficit', 1, null, 80, undefined],
        ['stock', 2, null, 70, 500],
        ['deficit', 3, 2, 490, undefined],
        ['stock', 4, 2, 480, 470],
        ['deficit', 5, 4, 460, undefined],
      ]);
      expect(tick!.checks[4]!.totals).toEqual({ produced: 0, received: 0, consumed: 0, shipped: 20, exported: 0 });
      expect(tick!.checks[1]!.totals).toEqual({ produced: 100, received: 0, consumed: 0, shipped: 20, exported: 0 });
    });

    it('prunes days behind an old declaration without changing any check within the retention window', async () => {
      const p = P('R');
      const [m, never] = ['DY_OXIDE', 'ND_METAL'];
      const lastDay = RETENTION_DAYS + 60;
      const decl0 = update({ producerId: p, occurredAt: at(D0, 8), declaration: { material: m, onHandKg: 1000 } });
      const decl30 = update({ producerId: p, occurredAt: at(D0 + 30, 20), declaration: { material: m, onHandKg: 1111 } });
      // Every day: 10 kg of m made, 7 kg shipped, and 1 kg of a material that is never declared shipped.
      const daily = Array.from({ length: lastDay }, (_, i) =>
        update({
          producerId: p,
          occurredAt: at(D0 + i + 1),
          flows: [
            { material: m, kind: 'produced', kg: 10 },
            { material: m, kind: 'shipped', kg: 7 },
            { material: never, kind: 'shipped', kg: 1 },
          ],
        }),
      );
      const all = [decl0, ...daily.slice(0, 30), decl30, ...daily.slice(30)];
      const fired: FiredCheck[] = [];
      for (let i = 0; i < all.length; i += 25) for (const r of await store.applyBatch(all.slice(i, i + 25))) fired.push(...r.checks);
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0 + lastDay) + GRACE })]);
      fired.push(...tick!.checks);

      // What the book says with nothing forgotten, worked out by hand.
      const totals = (produced: number, shipped: number) => ({ produced, received: 0, consumed: 0, shipped, exported: 0 });
      const expected: FiredCheck[] = [
        { kind: 'stock', material: m, day: D0, opening: null, totals: totals(0, 0), bookKg: 0, declaredKg: 1000, subjectIds: [decl0.reportId] },
        { kind: 'stock', material: m, day: D0 + 30, opening: { day: D0, kg: 1000 }, totals: totals(300, 210), bookKg: 1090, declaredKg: 1111, subjectIds: [decl30.reportId] },
      ];
      for (let d = 1; d <= lastDay; d++) {
        const subjectIds = [daily[d - 1]!.reportId];
        if (d !== 30) {
          const since = d < 30 ? 0 : 30;
          const opening = d < 30 ? { day: D0, kg: 1000 } : { day: D0 + 30, kg: 1111 };
          expected.push({ kind: 'deficit', material: m, day: D0 + d, opening, totals: totals(10 * (d - since), 7 * (d - since)), bookKg: opening.kg + 3 * (d - since), subjectIds });
        }
        expected.push({ kind: 'deficit', material: never, day: D0 + d, opening: null, totals: totals(0, d), bookKg: -d, subjectIds });
      }
      const order = (a: FiredCheck, b: FiredCheck) => a.day - b.day || a.kind.localeCompare(b.kind) || a.material.localeCompare(b.material);
      expect(fired.slice().sort(order)).toEqual(expected.sort(order));

      // The documented limit: a report more than RETENTION_DAYS late for a pruned period is judged
      // against what is left of the book (here nothing before day 30 of m), and fires at once.
      const late = update({ producerId: p, occurredAt: at(D0 + 10), flows: [{ material: m, kind: 'shipped', kg: 5 }] });
      const [lateResult] = await store.applyBatch([late]);
      expect(lateResult!.checks).toEqual([
        { kind: 'deficit', material: m, day: D0 + 10, opening: null, totals: totals(0, 5), bookKg: -5, subjectIds: [late.reportId] },
      ]);
    });

    it('fires checks in due order with a stable tie order', async () => {
      const p = P('F');
      await store.applyBatch([
        update({ producerId: p, occurredAt: at(D0 + 1), flows: [{ material: 'B_MAT', kind: 'shipped', kg: 1 }] }),
        update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'Z_MAT', kind: 'shipped', kg: 1 }, { material: 'A_MAT', kind: 'shipped', kg: 1 }] }),
      ]);
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: dayEnd(D0 + 1) + GRACE })]);
      expect(tick!.checks.map((c) => `${c.material}@${c.day - D0}`)).toEqual(['A_MAT@0', 'Z_MAT@0', 'B_MAT@1']);
    });

    it('keeps producers apart', async () => {
      const [a, b] = [P('G1'), P('G2')];
      await store.applyBatch([update({ producerId: a, occurredAt: at(D0), flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 5 }] })]);
      const [rb] = await store.applyBatch([update({ producerId: b, occurredAt: at(D0 + 10) })]);
      expect(rb!.checks).toEqual([]);
      expect(rb!.watermark).toBe(at(D0 + 10));
    });

    it('counts licence use per licence and reports the kg before and after', async () => {
      const p = P('H');
      const results = await store.applyBatch([
        update({ producerId: p, occurredAt: at(D0), licenceUse: { licenceId: 'LIC-9', kg: 600 } }),
        update({ producerId: p, occurredAt: at(D0), licenceUse: { licenceId: 'LIC-9', kg: 500.5 } }),
        update({ producerId: p, occurredAt: at(D0), licenceUse: { licenceId: 'LIC-8', kg: 1 } }),
      ]);
      expect(results.map((r) => [r.licenceUsedBeforeKg, r.licenceUsedAfterKg])).toEqual([
        [0, 600],
        [600, 1100.5],
        [0, 1],
      ]);
    });

    it('keeps numbers exact: long decimals, 16-digit times, huge quantities, negative zero', async () => {
      const p = P('N');
      const late = 8_640_000_000_000_000 - 1; // the last representable event time, 16 digits
      const batch: StateUpdate[] = [
        // Opening 0.0006 kg less a 1 g shipment: Math.round(-0.4) is -0, so the book is -0 kg.
        update({ producerId: p, occurredAt: 999 * DAY_MS, declaration: { material: 'M1', onHandKg: 0.0006 }, graceMs: 0 }),
        update({ producerId: p, occurredAt: 1_000 * DAY_MS, flows: [{ material: 'M1', kind: 'shipped', kg: 0.001 }], graceMs: 0 }),
        update({ producerId: p, occurredAt: 1_001 * DAY_MS, declaration: { material: 'M2', onHandKg: 1234567.123456789 }, graceMs: 0 }),
        update({ producerId: p, occurredAt: 1_002 * DAY_MS, licenceUse: { licenceId: 'L', kg: 1e15 }, graceMs: 0 }),
        update({ producerId: p, occurredAt: late, graceMs: 0 }),
      ];
      const none = { produced: 0, received: 0, consumed: 0, shipped: 0, exported: 0 };
      const results = await store.applyBatch(batch);
      expect(results.map((r) => r.watermark)).toEqual([999 * DAY_MS, 1_000 * DAY_MS, 1_001 * DAY_MS, 1_002 * DAY_MS, late]);
      expect(results.map((r) => r.checks)).toEqual([
        [],
        [{ kind: 'stock', material: 'M1', day: 999, opening: null, totals: none, bookKg: 0, declaredKg: 0.0006, subjectIds: [batch[0]!.reportId] }],
        [{ kind: 'deficit', material: 'M1', day: 1_000, opening: { day: 999, kg: 0.0006 }, totals: { ...none, shipped: 0.001 }, bookKg: -0, subjectIds: [batch[1]!.reportId] }],
        [{ kind: 'stock', material: 'M2', day: 1_001, opening: null, totals: none, bookKg: 0, declaredKg: 1234567.123456789, subjectIds: [batch[2]!.reportId] }],
        [],
      ]);
      expect(Object.is(results[2]!.checks[0]!.bookKg, -0)).toBe(true);
      expect(results[3]).toMatchObject({ licenceUsedBeforeKg: 0, licenceUsedAfterKg: 1e15 });
      // What is kept for redeliveries holds the same numbers as what was returned (the latest
      // report only: the clock has jumped so far that the others are out of the results window).
      const [again] = await store.applyBatch([batch[4]!]);
      expect(again).toStrictEqual({ ...results[4], duplicate: true });
    });

    it('keeps the sign of a zero book in what it keeps for redeliveries', async () => {
      const p = P('N0');
      const batch = [
        update({ producerId: p, occurredAt: 999 * DAY_MS, declaration: { material: 'M1', onHandKg: 0.0006 }, graceMs: 0 }),
        update({ producerId: p, occurredAt: 1_000 * DAY_MS, flows: [{ material: 'M1', kind: 'shipped', kg: 0.001 }], graceMs: 0 }),
        update({ producerId: p, occurredAt: 1_001 * DAY_MS, graceMs: 0 }),
      ];
      const results = await store.applyBatch(batch);
      const again = await store.applyBatch(batch);
      expect(again).toStrictEqual(results.map((r) => ({ ...r, duplicate: true })));
      expect(Object.is(again[2]!.checks[0]!.bookKg, -0)).toBe(true);
    });

    it('breaks due-time ties by day number, not by text, across digit widths', async () => {
      const p = P('W');
      // The same dueAt for days 99_999 and 100_000: grace makes both due at one instant.
      const dueAt = (100_000 + 1) * DAY_MS - 1 + 5 * DAY_MS;
      const [, , tick] = await store.applyBatch([
        update({ producerId: p, occurredAt: 100_000 * DAY_MS, flows: [{ material: 'M', kind: 'shipped', kg: 1 }], graceMs: 5 * DAY_MS }),
        update({ producerId: p, occurredAt: 99_999 * DAY_MS, flows: [{ material: 'M', kind: 'shipped', kg: 1 }], graceMs: 6 * DAY_MS }),
        update({ producerId: p, occurredAt: dueAt, graceMs: 0 }),
      ]);
      expect(tick!.checks.map((c) => [c.day, c.bookKg])).toEqual([
        [99_999, -1],
        [100_000, -2],
      ]);
    });

    it('lists at most MAX_SUBJECT_IDS outflow reports of a day, the first ones, and counts them all', async () => {
      const p = P('S');
      const outflows = Array.from({ length: MAX_SUBJECT_IDS + 5 }, () => update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'M', kind: 'consumed', kg: 1 }], graceMs: 0 }));
      const results = await store.applyBatch([...outflows, update({ producerId: p, occurredAt: at(D0 + 1), graceMs: 0 })]);
      const [check] = results.at(-1)!.checks;
      expect(check!.subjectIds).toEqual(outflows.slice(0, MAX_SUBJECT_IDS).map((u) => u.reportId));
      expect(check!.bookKg).toBe(-(MAX_SUBJECT_IDS + 5));
      expect(check!.totals.consumed).toBe(MAX_SUBJECT_IDS + 5);
    });

    it('fires hundreds of checks of a few materials at once after a long silence', async () => {
      const p = P('L');
      const materials = ['A_MAT', 'AB', 'Z'];
      const days = RETENTION_DAYS - 5;
      // Every day: 30 kg of one material made, and 1 kg of each shipped; every tenth day the day's
      // material declared at 1000 kg. All wait out a grace longer than the whole run.
      const batch = Array.from({ length: days }, (_, d) =>
        update({
          producerId: p,
          occurredAt: at(D0 + d),
          flows: [{ material: materials[d % 3]!, kind: 'produced', kg: 30 }, ...materials.map((m) => ({ material: m, kind: 'shipped' as const, kg: 1 }))],
          declaration: d % 10 === 0 ? { material: materials[d % 3]!, onHandKg: 1000 } : undefined,
          graceMs: 400 * DAY_MS,
        }),
      );
      await store.applyBatch(batch);
      const [tick] = await store.applyBatch([update({ producerId: p, occurredAt: at(D0 + 800), graceMs: 0 })]);
      const fired = tick!.checks;
      // One check per material and day: a stock check on a declared day, a deficit check otherwise.
      expect(fired).toHaveLength(3 * days);
      expect(fired.filter((c) => c.kind === 'stock').map((c) => `${c.material}@${c.day - D0}`)).toEqual(
        Array.from({ length: Math.ceil(days / 10) }, (_, k) => `${materials[(10 * k) % 3]}@${10 * k}`),
      );
      // In due order: by day (due = day end + grace), then kind, then material ('AB' < 'A_MAT': 'B' < '_').
      expect(fired.slice(0, 5).map((c) => `${c.kind} ${c.material}@${c.day - D0}`)).toEqual(['deficit AB@0', 'deficit Z@0', 'stock A_MAT@0', 'deficit AB@1', 'deficit A_MAT@1']);
      const find = (material: string, day: number) => fired.find((c) => c.material === material && c.day === D0 + day)!;
      // A_MAT is made on days 0, 3, 6, ...; declared on days 0, 30, 60, 90 (days divisible by 30).
      // Day 29: opening day 0 (1000 kg), then 29 days shipping 1 kg and days 3..27 making 30 kg (9 of them).
      expect(find('A_MAT', 29)).toMatchObject({ kind: 'deficit', opening: { day: D0, kg: 1000 }, bookKg: 1000 + 9 * 30 - 29 });
      // Day 30: declared again; its stock check compares with the book from day 0's declaration.
      expect(find('A_MAT', 30)).toMatchObject({ kind: 'stock', opening: { day: D0, kg: 1000 }, bookKg: 1000 + 10 * 30 - 30, declaredKg: 1000 });
      // AB is made on days 1, 4, 7, ... and declared on days 10, 40, 70, 100; nothing opens its first ten days.
      expect(find('AB', 9)).toMatchObject({ kind: 'deficit', opening: null, bookKg: 3 * 30 - 10 });
      // Day 39: from day 10's declaration, 29 days shipping and days 13..37 making (9 of them).
      expect(find('AB', 39)).toMatchObject({ kind: 'deficit', opening: { day: D0 + 10, kg: 1000 }, bookKg: 1000 + 9 * 30 - 29 });
    });

    it('returns the identical first result to a redelivery while the producer clock is within the results window', async () => {
      const p = P('SW');
      const first = update({ producerId: p, occurredAt: at(D0), flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 1 }], licenceUse: { licenceId: 'L1', kg: 1 }, graceMs: 0 });
      const [result] = await store.applyBatch([first]);
      await store.applyBatch([update({ producerId: p, occurredAt: at(D0) + SEEN_WINDOW_MS, graceMs: 0 })]);
      const [again] = await store.applyBatch([first]);
      expect(again).toStrictEqual({ ...result, duplicate: true });
    });

    it("forgets a result once the producer clock has moved on past the results window, and only that producer's", async () => {
      const [p, q] = [P('SX'), P('SY')];
      const use = (producerId: string) => update({ producerId, occurredAt: at(D0), licenceUse: { licenceId: 'L1', kg: 1 }, graceMs: 0 });
      const [r1, q1] = [use(p), use(q)];
      await store.applyBatch([r1, q1]);
      await store.applyBatch([update({ producerId: p, occurredAt: at(D0) + SEEN_WINDOW_MS + 1, licenceUse: { licenceId: 'L1', kg: 1 }, graceMs: 0 })]);
      const [late, other] = await store.applyBatch([r1, q1]);
      // The documented trade-off: so late a redelivery is applied again (a third kg of licence use).
      expect(late).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 2, licenceUsedAfterKg: 3 });
      expect(other).toMatchObject({ duplicate: true, licenceUsedBeforeKg: 0, licenceUsedAfterKg: 1 });
    });

    it('after a restart, takes a redelivered batch as duplicates with their first results and carries on', async (ctx) => {
      if (!made.successor) return ctx.skip();
      const p = P('RS');
      const batch = Array.from({ length: 12 }, (_, i) =>
        update({ producerId: i % 2 === 0 ? p : `${p}-2`, occurredAt: at(D0 + Math.floor(i / 4)), flows: [{ material: 'DY_OXIDE', kind: 'shipped', kg: 1 }], licenceUse: { licenceId: 'L1', kg: 1 }, graceMs: 0 }),
      );
      const results = await store.applyBatch(batch);
      expect(results.map((r) => r.licenceUsedAfterKg)).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6]);
      const restarted = successor();
      expect(await restarted.applyBatch(batch)).toStrictEqual(results.map((r) => ({ ...r, duplicate: true })));
      const [next] = await restarted.applyBatch([update({ producerId: p, occurredAt: at(D0 + 5), licenceUse: { licenceId: 'L1', kg: 1 }, graceMs: 0 })]);
      expect(next).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 6, licenceUsedAfterKg: 7 });
      // The day-2 deficit check waited for the clock: 2 kg shipped a day since day 0, nothing declared.
      expect(next!.checks.map((c) => [c.day - D0, c.bookKg])).toEqual([[2, -6]]);
    });

    it("refuses a paused old owner's late write and leaves the new owner's state intact", async (ctx) => {
      if (!made.successor || !made.fences) return ctx.skip();
      const p = P('Z');
      const use = (day: number, kg: number) => update({ producerId: p, occurredAt: at(D0 + day), licenceUse: { licenceId: 'L1', kg }, graceMs: 0 });
      await store.applyBatch([use(0, 10)]);
      // The partition moves: a new owner loads the producer, claiming it.
      const owner = successor();
      expect(await owner.applyBatch([use(1, 5)])).toMatchObject([{ licenceUsedBeforeKg: 10, licenceUsedAfterKg: 15 }]);
      // The old owner wakes up with the producer still in memory and writes what it computed.
      await expect(store.applyBatch([use(1, 1000)])).rejects.toMatchObject({ code: 'REE_ERR_FENCED', retriable: false });
      // It forgot what it could not write, and a reload is refused too: it cannot take the producer back.
      expect(store.engine.cachedProducers).toBe(0);
      await expect(store.applyBatch([use(2, 1)])).rejects.toMatchObject({ code: 'REE_ERR_FENCED' });
      // The new owner carries on from its own state, and so does a later one loading what was saved.
      expect(await owner.applyBatch([use(2, 1)])).toMatchObject([{ duplicate: false, licenceUsedBeforeKg: 15, licenceUsedAfterKg: 16 }]);
      expect(await successor().applyBatch([use(3, 1)])).toMatchObject([{ duplicate: false, licenceUsedBeforeKg: 16, licenceUsedAfterKg: 17 }]);
    });

    it('stores, corrects, looks up and deletes licences', async () => {
      const id = `LIC-${P('I')}`;
      await store.putLicence(sampleLicence({ licenceId: id, status: 'ACTIVE' }));
      // The same effective time (issuedAt, none given) is the same version: the later record corrects it.
      await store.putLicence(sampleLicence({ licenceId: id, status: 'SUSPENDED' }));
      const found = await store.getLicenceVersions([id, `${id}-missing`]);
      expect([...found.keys()]).toEqual([id]);
      expect(found.get(id)).toEqual([sampleLicence({ licenceId: id, status: 'SUSPENDED' })]);
      await store.deleteLicence(id);
      expect((await store.getLicenceVersions([id])).size).toBe(0);
    });

    it('keeps every version of a licence in effective order, whatever order they arrive in', async () => {
      const issued = sampleLicence({ licenceId: `LIC-${P('V')}`, status: 'ACTIVE' });
      const suspended = { ...issued, status: 'SUSPENDED' as const, effectiveAt: at(D0 + 3) };
      const reinstated = { ...issued, status: 'ACTIVE' as const, effectiveAt: at(D0 + 5) };
      const revoked = { ...issued, status: 'REVOKED' as const, effectiveAt: at(D0 + 9) };
      for (const v of [revoked, issued, reinstated, suspended]) await store.putLicence(v);
      expect((await store.getLicenceVersions([issued.licenceId])).get(issued.licenceId)).toEqual([issued, suspended, reinstated, revoked]);
      await store.deleteLicence(issued.licenceId);
      await store.putLicence(reinstated);
      // A tombstone took every version with it.
      expect((await store.getLicenceVersions([issued.licenceId])).get(issued.licenceId)).toEqual([reinstated]);
    });

    it('stores, replaces, lists and deletes watchlist entries, moving the version on each change', async () => {
      const tag = P('WL');
      const entry = (entryId: string, name: string): WatchlistEntry => ({ entryId, name, aliases: [`${name} Ltd`], country: 'HK', reason: 'test', listedAt: at(D0) });
      const v0 = await store.watchlistVersion();
      await store.putWatchlistEntry(entry(`${tag}-b`, 'Zhang Weihong'));
      await store.putWatchlistEntry(entry(`${tag}-a`, 'Chen Xiaoming'));
      const v1 = await store.watchlistVersion();
      expect(v1).not.toBe(v0);
      expect(await store.watchlistVersion()).toBe(v1);
      await store.putWatchlistEntry(entry(`${tag}-b`, 'Cheung Wai Hung'));
      expect((await store.getWatchlist()).map((e) => [e.entryId, e.name])).toEqual([
        [`${tag}-a`, 'Chen Xiaoming'],
        [`${tag}-b`, 'Cheung Wai Hung'],
      ]);
      await store.deleteWatchlistEntry(`${tag}-a`);
      expect(await store.watchlistVersion()).not.toBe(v1);
      expect(await store.getWatchlist()).toEqual([entry(`${tag}-b`, 'Cheung Wai Hung')]);
    });

    it('keeps the first sighting of each producer, client id and name, whatever order they arrive in, and says which', async () => {
      const producerId = P('CL');
      const seen = (clientId: string, clientName: string, reportId: string, day: number, producer = producerId): ClientSighting => ({
        clientId,
        clientName,
        producerId: producer,
        reportId,
        occurredAt: at(D0 + day),
        material: 'DY_OXIDE',
      });
      const sightings = [seen('C1', 'Acme', 's3', 3), seen('C1', 'Acme', 's1', 1), seen('C1', 'Acme', 's2', 2), seen('C1', 'Acme Ltd', 's4', 0), seen('C0', 'Zeta', 's5', 5), seen('C1', 'Acme', 's1b', 1)];
      expect((await store.recordClients(sightings.slice(0, 3))).map((c) => c.reportId)).toEqual(['s3', 's1', 's1']);
      expect((await store.recordClients(sightings.slice(3))).map((c) => c.reportId)).toEqual(['s4', 's5', 's1']);
      expect(await store.getClients()).toEqual([seen('C0', 'Zeta', 's5', 5), seen('C1', 'Acme', 's1', 1), seen('C1', 'Acme Ltd', 's4', 0)]);
      // Another exporter to the same client is its own sighting.
      const other = seen('C1', 'Acme', 's9', 9, `${producerId}-2`);
      expect(await store.recordClients([seen('C1', 'Acme', 's0', 0), other])).toEqual([seen('C1', 'Acme', 's0', 0), other]);
      expect((await store.getClients()).map((c) => c.reportId)).toEqual(['s5', 's0', 's4', 's9']);
    });

    it('remembers which alerts were published', async () => {
      const ids = [`a-${P('J')}`, `b-${P('J')}`, `c-${P('J')}`];
      expect(await store.unpublishedAlerts(ids)).toEqual(ids);
      await store.markAlertsPublished([ids[1]!]);
      expect(await store.unpublishedAlerts(ids)).toEqual([ids[0], ids[2]]);
      // Asking again must not forget or invent a marker.
      expect(await store.unpublishedAlerts(ids)).toEqual([ids[0], ids[2]]);
    });

    it('gives a finding to the first path that claims it: the other path is refused until the claim is let go or the alert marked', async () => {
      const id = `claim-${P('J')}`;
      const r1 = { path: 'reports', txn: 'tr-1' } as const;
      const w1 = { path: 'watchlist', txn: 'tw-1' } as const;
      expect(await store.claimAlerts([id], r1)).toEqual(['claimed']);
      expect(await store.claimAlerts([id], w1)).toEqual(['other-path']);
      // The same path's next transaction takes its claim over (an outbox sent again).
      const r2 = { path: 'reports', txn: 'tr-2' } as const;
      expect(await store.claimAlerts([id], r2)).toEqual(['claimed']);
      // Only the holder's own release lets go: tr-1's attempt is no longer the holder.
      await store.releaseClaims([id], r1);
      expect(await store.claimAlerts([id], w1)).toEqual(['other-path']);
      await store.releaseClaims([id], r2);
      expect(await store.claimAlerts([id], w1)).toEqual(['claimed']);
      expect(await store.claimAlerts([id], r1)).toEqual(['other-path']);
      // Marked published, every claim of that revision is moot, whoever holds it.
      await store.markAlertsPublished([id]);
      expect(await store.claimAlerts([id], r1)).toEqual(['published']);
      expect(await store.claimAlerts([id, { alertId: id, revision: 2 }], r1)).toEqual(['published', 'claimed']);
      await store.releaseClaims([{ alertId: id, revision: 2 }]);
      expect(await store.claimAlerts([{ alertId: id, revision: 2 }], w1)).toEqual(['claimed']);
    });

    it('tells who holds a claim, with the watchlist partition the claimant named', async () => {
      const id = `claim-who-${P('J')}`;
      const w = { path: 'watchlist', txn: 'tw-9', partition: 4 } as const;
      expect(await store.claimHolders([id])).toEqual([undefined]);
      expect(await store.claimAlerts([id], w)).toEqual(['claimed']);
      expect(await store.claimHolders([id, { alertId: id, revision: 2 }])).toEqual([w, undefined]);
      // Released only by that claimant (partition and all).
      await store.releaseClaims([id], { path: 'watchlist', txn: 'tw-9' });
      expect(await store.claimHolders([id])).toEqual([w]);
      await store.releaseClaims([id], w);
      expect(await store.claimHolders([id])).toEqual([undefined]);
      expect(await store.claimAlerts([id], { path: 'reports', txn: 'tr' })).toEqual(['claimed']);
      expect(await store.claimHolders([id])).toEqual([{ path: 'reports', txn: 'tr' }]);
    });

    it('keeps claims per revision: a claim on one revision holds no other', async () => {
      const id = `claim-rev-${P('J')}`;
      expect(await store.claimAlerts([{ alertId: id, revision: 1 }], { path: 'watchlist', txn: 'tw' })).toEqual(['claimed']);
      expect(await store.claimAlerts([{ alertId: id, revision: 2 }, { alertId: id, revision: 1 }], { path: 'reports', txn: 'tr' })).toEqual(['claimed', 'other-path']);
      expect(await store.claimAlerts([], { path: 'reports', txn: 'tr' })).toEqual([]);
      await store.releaseClaims([]);
    });

    it('remembers the highest revision published: a higher one is news, the same or a lower one is not', async () => {
      const id = `rev-${P('J')}`;
      await store.markAlertsPublished([{ alertId: id, revision: 2 }]);
      expect(await store.unpublishedAlerts([{ alertId: id, revision: 1 }, { alertId: id, revision: 2 }, { alertId: id, revision: 3 }])).toEqual([id]);
      // A marker written before revisions (a bare id) is revision 1.
      const old = `old-${P('J')}`;
      await store.markAlertsPublished([old]);
      expect(await store.unpublishedAlerts([old, { alertId: old, revision: 2 }])).toEqual([old]);
    });
  });
}
