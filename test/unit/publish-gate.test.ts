import { describe, expect, it } from 'vitest';
import { createPublishGate } from '../../src/pipeline/publish-gate.ts';

/** A promise with its resolve, to hold a piece of work open until the test lets it finish. */
function held(): { promise: Promise<void>; release: () => void } {
  let release!: () => void;
  const promise = new Promise<void>((r) => (release = r));
  return { promise, release };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('publish gate', () => {
  it('lets report batches hold it together', async () => {
    const gate = createPublishGate();
    const a = held();
    const b = held();
    const running: string[] = [];
    const first = gate.shared(async () => { running.push('a'); await a.promise; });
    const second = gate.shared(async () => { running.push('b'); await b.promise; });
    await tick();
    expect(running).toEqual(['a', 'b']);
    a.release();
    b.release();
    await Promise.all([first, second]);
  });

  it('lets any number of report batches hold it together', async () => {
    const gate = createPublishGate();
    const open = held();
    let running = 0;
    // More than the 65,536 permits the gate once had: none of them may wait for another.
    const batches = Array.from({ length: 70_000 }, () => gate.shared(async () => { running += 1; await open.promise; }));
    await tick();
    expect(running).toBe(70_000);
    open.release();
    await Promise.all(batches);
  });

  it('keeps a watchlist change from starting while a report batch is between its check and its mark, and the next batch waits behind it', async () => {
    const gate = createPublishGate();
    const log: string[] = [];
    const batch = held();
    const change = held();
    const first = gate.shared(async () => { log.push('batch 1 start'); await batch.promise; log.push('batch 1 end'); });
    await tick();
    const exclusive = gate.exclusive(async () => { log.push('change start'); await change.promise; log.push('change end'); });
    const later = gate.shared(async () => { log.push('batch 2'); });
    await tick();
    expect(log).toEqual(['batch 1 start']);
    batch.release();
    await first;
    await tick();
    expect(log).toEqual(['batch 1 start', 'batch 1 end', 'change start']);
    change.release();
    await Promise.all([exclusive, later]);
    expect(log).toEqual(['batch 1 start', 'batch 1 end', 'change start', 'change end', 'batch 2']);
  });

  it('opens again after work that failed', async () => {
    const gate = createPublishGate();
    await expect(gate.exclusive(async () => { throw new Error('broker down'); })).rejects.toThrow('broker down');
    await expect(gate.shared(async () => 'published')).resolves.toBe('published');
  });
});
