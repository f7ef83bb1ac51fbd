import { describe, expect, it } from 'vitest';
import { DAY_MS } from '../../src/domain/time.ts';
import { APPLIED_SPAN_DAYS } from '../../src/state/engine/applied-reports.ts';
import { applyToBook } from '../../src/state/engine/balance-book.ts';
import { createMemoryDurability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore, type EngineStore } from '../../src/state/engine-store.ts';
import type { ApplyResult } from '../../src/state/store.ts';
import { bookScenarios, expectBookScenario, scenarioName } from '../helpers/book-scenarios.ts';
import { scenario } from '../helpers/state-scenario.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

describeStoreContract('state engine, in-memory', async () => ({ store: createEngineMemoryStore(), producer: (id) => id }));

// One producer held at a time: every batch saves, evicts and reloads from the stored text.
describeStoreContract('state engine, saved and reloaded every batch', async () => {
  const durability = createMemoryDurability();
  return {
    store: createEngineMemoryStore({ durability, maxCachedProducers: 1 }),
    producer: (id) => id,
    // Another instance on the same saved state (no fencing in memory).
    successor: () => createEngineMemoryStore({ durability, maxCachedProducers: 1 }),
  };
});

const variants: [string, () => EngineStore][] = [
  ['held in memory', () => createEngineMemoryStore()],
  ['reloaded from storage', () => createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 1 })],
];

describe('state engine on seeded scenarios', () => {
  for (const [name, make] of variants) {
    for (const s of bookScenarios(400)) {
      it(`returns the expected results, ${name} (${scenarioName(s)})`, async () => {
        const store = make();
        const seen = await expectBookScenario(s, (batch) => store.applyBatch(batch));
        // The scenario exercised what it is for.
        expect(seen.deficit).toBeGreaterThan(10);
        expect(seen.stock).toBeGreaterThan(5);
        expect(seen.duplicate).toBeGreaterThan(10);
      });
    }
    for (const s of bookScenarios(1500)) {
      it(`returns the expected results over several retention periods, ${name} (${scenarioName(s)})`, async () => {
        const store = make();
        const seen = await expectBookScenario(s, (batch) => store.applyBatch(batch));
        expect(seen.deficit + seen.stock).toBeGreaterThan(100);
      });
    }
  }
});

describe('state engine refusing what cannot be stored', () => {
  it('refuses a material that cannot name a field before changing anything', async () => {
    const store = createEngineMemoryStore();
    const bad = {
      reportId: 'R1',
      producerId: 'P1',
      occurredAt: 20_100 * 86_400_000,
      flows: [{ material: 'DY_OXIDE', kind: 'shipped' as const, kg: 1 }, { material: 'DY#OXIDE', kind: 'shipped' as const, kg: 1 }],
      licenceUse: { licenceId: 'L1', kg: 1 },
      graceMs: 0,
    };
    await expect(store.applyBatch([bad])).rejects.toMatchObject({ code: 'REE_ERR_STATE' });
    const [next] = await store.applyBatch([{ ...bad, reportId: 'R2', flows: [bad.flows[0]!] }]);
    expect(next).toMatchObject({ duplicate: false, licenceUsedBeforeKg: 0, licenceUsedAfterKg: 1 });
  });
});

describe('state engine with overlapping batches', () => {
  it('keeps a producer a batch already holds even if another batch evicts it while the first waits for a load', async () => {
    const durability = createMemoryDurability();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const load = durability.load.bind(durability);
    durability.load = async (ids) => {
      if (ids.includes('P2')) await gate;
      return load(ids);
    };
    const store = createEngineMemoryStore({ durability, maxCachedProducers: 1 });
    const use = (reportId: string, producerId: string, kg: number) => ({ reportId, producerId, occurredAt: 20_100 * 86_400_000, flows: [], licenceUse: { licenceId: 'L1', kg }, graceMs: 0 });

    await store.applyBatch([use('a', 'P1', 5)]);
    const waiting = store.applyBatch([use('b', 'P1', 1), use('c', 'P2', 1)]);
    // Another partition's batch runs meanwhile and evicts P1 from memory.
    await store.applyBatch([use('d', 'P3', 1)]);
    release();
    const [p1] = await waiting;
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 5, licenceUsedAfterKg: 6 });
    const [again] = await store.applyBatch([use('e', 'P1', 1)]);
    expect(again).toMatchObject({ licenceUsedBeforeKg: 6, licenceUsedAfterKg: 7 });
  });
});

describe('state engine reading state saved in the first stored form', () => {
  it('gives a redelivered report the same result when its saved result holds checks as objects (the first form)', async () => {
    // The reference: a fresh engine held in memory, whose results are those of the current code.
    const reference = createEngineMemoryStore();
    const saved = createMemoryDurability();
    const writer = createEngineMemoryStore({ durability: saved });
    const results = new Map<string, ApplyResult>();
    const batches = scenario(42, 400);
    for (const batch of batches) {
      for (const r of await reference.applyBatch(batch)) if (!r.duplicate) results.set(r.reportId, r);
      await writer.applyBatch(batch);
    }
    // Rewrite every saved applied-reports part as the first form wrote it: checks as objects.
    const producers = [...new Set(batches.flat().map((u) => u.producerId))];
    const stored = await saved.load(producers);
    const firstForm = createMemoryDurability();
    let rewritten = 0;
    type StoredResult = 0 | [number | null, number | null, unknown[]];
    for (const [producerId, fields] of stored) {
      for (const [field, text] of fields) {
        if (!field.startsWith('applied#') || field.endsWith('+')) continue;
        // And as the first form wrote the span: [reportId, clock, result] per report, the reports of
        // its delta part (which the first form did not have) after those of the span's whole part.
        const [codings, coded] = JSON.parse(text) as [[string, number][], [number, number | string, number, StoredResult][]];
        const spanStart = Number(field.slice('applied#'.length)) * APPLIED_SPAN_DAYS * DAY_MS;
        const added = JSON.parse(fields.get(`${field}+`) ?? '[]') as [string, number, StoredResult][];
        fields.delete(`${field}+`);
        const entries = [
          ...coded.map(([c, tail, sinceSpan, result]) => {
            const [prefix, width] = codings[c]!;
            return [prefix + (typeof tail === 'number' ? String(tail).padStart(width, '0') : tail), spanStart + sinceSpan, result] as const;
          }),
          ...added.map(([reportId, sinceSpan, result]) => [reportId, spanStart + sinceSpan, result] as const),
        ];
        for (const entry of entries) {
          const result = entry[2];
          if (result === 0 || result[2].length === 0) continue;
          result[2] = results.get(entry[0])!.checks;
          rewritten += 1;
        }
        fields.set(field, JSON.stringify(entries));
      }
      await firstForm.save(new Map([[producerId, fields]]));
    }
    expect(rewritten).toBeGreaterThan(5);

    // Every report again: those still remembered are duplicates with the results they first got.
    const reader = createEngineMemoryStore({ durability: firstForm });
    const again = batches.flat();
    const expected = await reference.applyBatch(again);
    const actual = await reader.applyBatch(again);
    expect(actual).toStrictEqual(expected);
    expect(actual.filter((r) => r.duplicate && r.checks.length > 0).length).toBeGreaterThan(3);
  });
});

describe('state engine going on from the earlier stored forms of pending checks and outflow ids', () => {
  it('gives the same results after a restart from checks as {key, dueAt, payload} objects and books with whole outflow ids', async () => {
    const batches = scenario(42, 400);
    const half = Math.floor(batches.length / 2);
    const reference = createEngineMemoryStore();
    const expected: ApplyResult[][] = [];
    for (const batch of batches) expected.push(await reference.applyBatch(batch));

    const saved = createMemoryDurability();
    const writer = createEngineMemoryStore({ durability: saved });
    for (const batch of batches.slice(0, half)) await writer.applyBatch(batch);
    const stored = await saved.load([...new Set(batches.flat().map((u) => u.producerId))]);
    const firstForm = createMemoryDurability();
    let checks = 0;
    let outflowDays = 0;
    for (const [producerId, fields] of stored) {
      // The first forms of these cells had no delta parts: theirs are folded into the whole parts
      // first (an entry replaces, or removes, the one of the same key or day).
      for (const [field, text] of [...fields]) {
        const wholeField = field.slice(0, -1).replace(/#$/, '');
        if (!field.endsWith('+') || !(wholeField === 'checks' || wholeField.startsWith('book:'))) continue;
        fields.delete(field);
        if (wholeField === 'checks') {
          const byKey = new Map((JSON.parse(fields.get('checks') ?? '[]') as [string, number][]).map((t) => [t[0], t]));
          for (const entry of JSON.parse(text) as [string, number?][]) {
            if (entry.length === 1) byKey.delete(entry[0]);
            else byKey.set(entry[0], entry as [string, number]);
          }
          fields.set('checks', JSON.stringify([...byKey.values()]));
        } else if (wholeField.startsWith('book:')) {
          const [flows, stock, outflows] = JSON.parse(fields.get(wholeField)!) as [number[][], unknown[][], [string, number, [number, (number | string)[]][]] | []];
          const [deltaFlows, deltaStock, deltaOutflows] = JSON.parse(text) as [number[][], unknown[][], [number, string[]][]];
          const merged = (days: unknown[][], changed: unknown[][]) => [...new Map([...days, ...changed].map((d) => [d[0], d])).values()].sort((a, b) => (a[0] as number) - (b[0] as number));
          const outflowIds = outflows.length === 0 ? [] : outflows[2].map(([place, tails]) => [place, tails.map((t) => outflows[0] + String(t).padStart(outflows[1], '0'))]);
          // Written back with whole ids: the conversion below reads a coding of an empty prefix and no width.
          fields.set(wholeField, JSON.stringify([merged(flows, deltaFlows), merged(stock, deltaStock), ['', 0, merged(outflowIds, deltaOutflows)]]));
        }
      }
      for (const [field, text] of fields) {
        if (field === 'checks') {
          const timers = (JSON.parse(text) as [string, number][]).map(([key, dueAt]) => {
            const [kind, material, day] = key.split('|');
            return { key, dueAt, payload: { kind, material, day: Number(day) } };
          });
          checks += timers.length;
          fields.set(field, JSON.stringify(timers));
        } else if (field.startsWith('book:')) {
          const [flatFlows, flatStock, outflows] = JSON.parse(text) as [unknown[][], unknown[][], [string, number, [number, (number | string)[]][]] | []];
          // Days nested as first written: [place, [totals]], [place, [kg, reportId]].
          const [flows, stock] = [flatFlows, flatStock].map((days) => days.map(([place, ...value]) => [place, value]));
          const whole = outflows.length === 0 ? [] : outflows[2].map(([place, tails]) => [place, tails.map((t) => outflows[0] + String(t).padStart(outflows[1], '0'))]);
          outflowDays += whole.length;
          fields.set(field, JSON.stringify([flows, stock, whole]));
        }
      }
      await firstForm.save(new Map([[producerId, fields]]));
    }
    expect(checks).toBeGreaterThan(5);
    expect(outflowDays).toBeGreaterThan(20);

    const reader = createEngineMemoryStore({ durability: firstForm });
    const actual: ApplyResult[][] = [];
    for (const batch of batches.slice(half)) actual.push(await reader.applyBatch(batch));
    expect(actual).toStrictEqual(expected.slice(half));
    expect(actual.flat().some((r) => r.checks.some((c) => c.subjectIds.length > 0))).toBe(true);
  });
});

describe('state engine scheduling a day\'s deficit check again and again', () => {
  // The book answers a day's repeated outflows from the due time it last saw (balance-book.ts):
  // a shorter grace must still move the check earlier, and an outflow arriving after the check
  // fired must schedule it again.
  const HOUR = 3_600_000;
  const day = 20_000;
  const at = (hours: number) => day * DAY_MS + hours * HOUR;
  const ship = (reportId: string, hours: number, kg: number, graceMs: number) => ({
    reportId,
    producerId: 'P-1',
    occurredAt: at(hours),
    graceMs,
    flows: [{ material: 'NdPr', kind: 'shipped' as const, kg }],
  });
  const receive = (reportId: string, hours: number, kg: number) => ({ ...ship(reportId, hours, kg, 0), flows: [{ material: 'NdPr', kind: 'received' as const, kg }] });
  const deficits = (r: ApplyResult) => r.checks.map((c) => [c.day, c.totals.shipped, c.subjectIds]);

  it('moves the check earlier for a shorter grace, and schedules it again for an outflow after it fired', async () => {
    for (const [, make] of variants) {
      const store = make();
      const results: ApplyResult[] = [];
      for (const u of [
        ship('S-1', 1, 10, 24 * HOUR),
        ship('S-2', 2, 5, 24 * HOUR),
        ship('S-3', 3, 1, 0), // due at the day's end now
        ship('S-4', 23, 1, 24 * HOUR),
        receive('R-5', 24.5, 2), // the next day: the first check fires
        ship('S-6', 5, 4, 24 * HOUR), // late, for the day already judged: due again a day after it
        ship('S-7', 30, 1, 24 * HOUR),
        ship('S-8', 48.5, 1, 0), // past the late report's due time: the day fires again
      ]) {
        results.push(...(await store.applyBatch([u])));
      }
      expect(results.map(deficits)).toEqual([
        [],
        [],
        [],
        [],
        [[day, 17, ['S-1', 'S-2', 'S-3', 'S-4']]],
        [],
        [],
        [[day, 21, ['S-1', 'S-2', 'S-3', 'S-4', 'S-6']]],
      ]);
    }
  });
});

describe('state engine overlapping its saves (overlapSaves, a batch job)', () => {
  const use = (reportId: string, producerId: string, kg: number) => ({ reportId, producerId, occurredAt: 20_100 * 86_400_000, flows: [], licenceUse: { licenceId: 'L1', kg }, graceMs: 0 });

  /** Durability whose saves wait until released, one by one in the order sent. */
  function heldDurability() {
    const durability = createMemoryDurability();
    const save = durability.save.bind(durability);
    const held: (() => void)[] = [];
    let failNext: Error | undefined;
    let holding = true;
    durability.save = (changes) =>
      !holding ? save(changes) : new Promise<void>((resolve, reject) => {
        const failure = failNext;
        failNext = undefined;
        held.push(() => (failure ? reject(failure) : save(changes).then(resolve, reject)));
      });
    return {
      durability,
      held,
      releaseAll: () => held.splice(0).forEach((release) => release()),
      failNextSave: (err: Error) => (failNext = err),
      stopHolding: () => (holding = false),
    };
  }

  it('resolves a run once its save is sent, and settle() once every save is durable', async () => {
    const { durability, held, releaseAll, stopHolding } = heldDurability();
    const store = createEngineMemoryStore({ durability, overlapSaves: true });
    const [first] = await store.applyBatch([use('a', 'P1', 5)]);
    const [second] = await store.applyBatch([use('b', 'P1', 1)]);
    expect([first, second]).toMatchObject([{ licenceUsedAfterKg: 5 }, { licenceUsedAfterKg: 6 }]);
    expect(held).toHaveLength(2);
    expect(durability.fieldCount('P1')).toBe(0);
    let settled = false;
    const settling = store.engine.settle().then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    releaseAll();
    await settling;
    expect(durability.fieldCount('P1')).toBeGreaterThan(0);
    stopHolding();
    // What was saved is what a fresh engine reads back.
    const [next] = await createEngineMemoryStore({ durability }).applyBatch([use('c', 'P1', 1)]);
    expect(next).toMatchObject({ licenceUsedBeforeKg: 6, licenceUsedAfterKg: 7 });
  });

  it('waits for the saves in flight before loading a producer it evicted', async () => {
    const { durability, held, releaseAll } = heldDurability();
    const store = createEngineMemoryStore({ durability, overlapSaves: true, maxCachedProducers: 1 });
    // One save for both; P1 is evicted once it is sent, before it is durable.
    await store.applyBatch([use('a', 'P1', 5), use('b', 'P2', 1)]);
    const reloading = store.applyBatch([use('c', 'P1', 1)]);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(held).toHaveLength(1);
    releaseAll();
    const [p1] = await reloading;
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 5, licenceUsedAfterKg: 6 });
  });

  it('fails the next run and settle() when a save it did not wait for fails', async () => {
    const { durability, releaseAll, failNextSave } = heldDurability();
    const store = createEngineMemoryStore({ durability, overlapSaves: true });
    failNextSave(new Error('Redis went away'));
    await store.applyBatch([use('a', 'P1', 5)]);
    releaseAll();
    await expect(store.engine.settle()).rejects.toThrow('Redis went away');
    await expect(store.applyBatch([use('b', 'P1', 1)])).rejects.toThrow('Redis went away');
  });

  it('with deferSaves, saves nothing until a checkpoint, then each producer touched since once, at its latest state', async () => {
    const { durability, held, releaseAll, stopHolding } = heldDurability();
    const store = createEngineMemoryStore({ durability, deferSaves: true });
    await store.applyBatch([use('a', 'P1', 5)]);
    await store.applyBatch([use('b', 'P1', 1), use('c', 'P2', 2)]);
    expect(held).toHaveLength(0);
    store.engine.checkpoint();
    expect(held).toHaveLength(1);
    // Nothing changed since: a second checkpoint sends nothing.
    store.engine.checkpoint();
    expect(held).toHaveLength(1);
    releaseAll();
    await store.engine.settle();
    stopHolding();
    const [p1, p2] = await createEngineMemoryStore({ durability }).applyBatch([use('d', 'P1', 1), use('e', 'P2', 1)]);
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 6 });
    expect(p2).toMatchObject({ licenceUsedBeforeKg: 2 });
  });

  it('with deferSaves, settle() checkpoints what is left', async () => {
    const durability = createMemoryDurability();
    const store = createEngineMemoryStore({ durability, deferSaves: true });
    await store.applyBatch([use('a', 'P1', 5)]);
    expect(durability.fieldCount('P1')).toBe(0);
    await store.engine.settle();
    expect(durability.fieldCount('P1')).toBeGreaterThan(0);
  });

  it('with deferSaves, checkpoints before it evicts, so an evicted producer comes back whole', async () => {
    const durability = createMemoryDurability();
    const store = createEngineMemoryStore({ durability, deferSaves: true, maxCachedProducers: 1 });
    await store.applyBatch([use('a', 'P1', 5)]);
    // P2 makes two cached: both are saved, then evicted down to nine tenths of the limit (none of one).
    await store.applyBatch([use('b', 'P2', 1)]);
    expect(store.engine.cachedProducers).toBe(0);
    const [p1] = await store.applyBatch([use('c', 'P1', 1)]);
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 5, licenceUsedAfterKg: 6 });
  });

  it('with deferSaves, keeps the changes of a run still finishing when another run checkpoints and evicts', async () => {
    const store = createEngineMemoryStore({ durability: createMemoryDurability(), deferSaves: true, maxCachedProducers: 1 });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // P1's run has done its work and waits in beforeSave (a timer index being written) ...
    const first = store.engine.run(['P1'], (stateOf) => applyToBook(stateOf('P1'), use('a', 'P1', 5)), () => held);
    await new Promise((resolve) => setTimeout(resolve, 0));
    // ... while P2's run outgrows the cache, checkpoints and evicts P1.
    await store.applyBatch([use('b', 'P2', 1)]);
    release();
    await first;
    const [p1] = await store.applyBatch([use('c', 'P1', 1)]);
    expect(p1).toMatchObject({ licenceUsedBeforeKg: 5, licenceUsedAfterKg: 6 });
  });

  it('with deferSaves, a batch that fails on a producer with unsaved changes fails every later run', async () => {
    const store = createEngineMemoryStore({ durability: createMemoryDurability(), deferSaves: true });
    await store.applyBatch([use('a', 'P1', 5)]);
    await expect(store.engine.run(['P1'], () => { throw new Error('rule bug'); })).rejects.toThrow('rule bug');
    // P1's first batch was never saved: reloading it would silently forget it.
    await expect(store.applyBatch([use('b', 'P1', 1)])).rejects.toThrow('rule bug');
    await expect(store.engine.settle()).rejects.toThrow('rule bug');
  });

  it('waits for every save by default', async () => {
    const { durability, held, releaseAll } = heldDurability();
    const store = createEngineMemoryStore({ durability });
    let done = false;
    const running = store.applyBatch([use('a', 'P1', 5)]).then(() => (done = true));
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(held).toHaveLength(1);
    expect(done).toBe(false);
    releaseAll();
    await running;
    expect(durability.fieldCount('P1')).toBeGreaterThan(0);
  });
});
