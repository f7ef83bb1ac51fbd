/**
 * Gathering a fetch's batches per partition index (index-gather.ts): which batches go together in
 * one run, and what every batch of a group gets back.
 */
import { describe, expect, it } from 'vitest';
import { createIndexGather } from '../../src/consumers/index-gather.ts';

function recording() {
  const runs: { partition: number; items: string[] }[] = [];
  const gather = createIndexGather<string, string>(async (partition, items) => {
    runs.push({ partition, items });
    return `p${partition}:${items.join('+')}`;
  });
  return { runs, gather };
}

describe('index gather', () => {
  it("runs an index's batches of one fetch once, when the last of them has submitted, and answers each with the group's outcome", async () => {
    const { runs, gather } = recording();
    const production = gather.enter(0);
    const shipments = gather.enter(0);
    const first = production.submit('production/0');
    expect(runs).toEqual([]);
    const second = shipments.submit('shipments/0');
    expect(await Promise.all([first, second])).toEqual(['p0:production/0+shipments/0', 'p0:production/0+shipments/0']);
    expect(runs).toEqual([{ partition: 0, items: ['production/0', 'shipments/0'] }]);
  });

  it('keeps partition indexes apart', async () => {
    const { runs, gather } = recording();
    const a = gather.enter(0);
    const b = gather.enter(1);
    await Promise.all([a.submit('shipments/0'), b.submit('shipments/1')]);
    expect(runs).toEqual([
      { partition: 0, items: ['shipments/0'] },
      { partition: 1, items: ['shipments/1'] },
    ]);
  });

  it('does not wait for a batch that leaves (held by the aligner), and runs nothing when none submitted', async () => {
    const { runs, gather } = recording();
    const held = gather.enter(0);
    const taken = gather.enter(0);
    const outcome = taken.submit('shipments/0');
    held.leave();
    expect(await outcome).toBe('p0:shipments/0');
    const alone = gather.enter(0);
    alone.leave();
    alone.leave();
    expect(runs).toHaveLength(1);
  });

  it('puts a batch that enters once its index group has started into the next group', async () => {
    let release: () => void = () => undefined;
    const runs: string[][] = [];
    const gather = createIndexGather<string, void>(async (_partition, items) => {
      runs.push(items);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
    });
    const first = gather.enter(0).submit('shipments/0@0');
    const late = gather.enter(0).submit('production/0@0');
    release();
    await Promise.all([first, late]);
    expect(runs).toEqual([['shipments/0@0'], ['production/0@0']]);
  });

  it("rejects every batch of a group whose run failed (each is then redelivered)", async () => {
    const gather = createIndexGather<string, void>(async () => {
      throw new Error('fenced');
    });
    const a = gather.enter(0);
    const b = gather.enter(0);
    const outcomes = [a.submit('x'), b.submit('y')].map((p) => p.catch((err: Error) => err.message));
    expect(await Promise.all(outcomes)).toEqual(['fenced', 'fenced']);
  });

  it("decides an index's batches one after another, each after the one before has decided (not run), and a failed decision does not stop the next", async () => {
    const gather = createIndexGather<string, string>(async (_partition, items) => items.join('+'));
    const taken = new Map<number, string[]>();
    const steps: string[] = [];
    const decideTaking = (name: string, fail = false) => async () => {
      const index = Number(name.split('/')[1]);
      steps.push(`${name} sees ${(taken.get(index) ?? []).join(',') || 'nothing'}`);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (fail) throw new Error(`${name} failed`);
      taken.set(index, [...(taken.get(index) ?? []), name]);
      return name;
    };
    const [production, shipments, imports, other] = [gather.enter(0), gather.enter(0), gather.enter(0), gather.enter(1)];
    const outcomes = [
      production.decide(decideTaking('production/0')).then((item) => production.submit(item)),
      shipments.decide(decideTaking('shipments/0', true)).catch((err: Error) => (shipments.leave(), err.message)),
      imports.decide(decideTaking('imports/0')).then((item) => imports.submit(item)),
      other.decide(decideTaking('shipments/1')).then((item) => other.submit(item)),
    ];
    expect(await Promise.all(outcomes)).toEqual(['production/0+imports/0', 'shipments/0 failed', 'production/0+imports/0', 'shipments/1']);
    expect(steps.filter((s) => s.includes('/0 '))).toEqual(['production/0 sees nothing', 'shipments/0 sees production/0', 'imports/0 sees production/0']);
    expect(steps).toContain('shipments/1 sees nothing');
  });
});
