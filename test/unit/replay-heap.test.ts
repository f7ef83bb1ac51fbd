/**
 * `replay` sets V8's heap growing factor for itself (src/cli/replay-heap.ts): by default, from
 * --heap-growth, and not at all when its options are refused. V8 is stubbed: the flag would stay
 * set in the test worker.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { licence, shipment } from '../helpers/builders.ts';

const flags = vi.hoisted(() => [] as string[]);
vi.mock('node:v8', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:v8')>();
  const setFlagsFromString = (text: string) => void flags.push(text);
  return { ...real, default: { ...real, setFlagsFromString }, setFlagsFromString };
});

const { replayCommand } = await import('../../src/cli/replay.ts');
const { REPLAY_HEAP_GROWTH_PERCENT, setHeapGrowth } = await import('../../src/cli/replay-heap.ts');

const dir = mkdtempSync(join(tmpdir(), 'ree-replay-heap-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const recording = join(dir, 'rec.jsonl');
writeFileSync(
  recording,
  [
    { topic: 'ree.licences.v1', key: 'LIC-1', timestamp: 0, value: licence() },
    { topic: 'ree.shipments.v1', key: 'P1', timestamp: 0, value: shipment({ licenceId: null }) },
  ]
    .map((r) => JSON.stringify(r))
    .join('\n') + '\n',
);

describe('replay heap growth', () => {
  beforeEach(() => {
    flags.length = 0;
  });

  it('sets the default growth, and replays as before', async () => {
    const out = join(dir, 'default.jsonl');
    expect(await replayCommand([recording, '--out', out, '--quiet'])).toBe(0);
    expect(flags).toEqual([`--heap-growing-percent=${REPLAY_HEAP_GROWTH_PERCENT}`]);
    expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('takes --heap-growth, 0 giving V8 its own choice back', async () => {
    expect(await replayCommand([recording, '--out', join(dir, 'a.jsonl'), '--quiet', '--heap-growth', '75'])).toBe(0);
    expect(await replayCommand([recording, '--out', join(dir, 'b.jsonl'), '--quiet', '--heap-growth', '0'])).toBe(0);
    expect(flags).toEqual(['--heap-growing-percent=75', '--heap-growing-percent=0']);
  });

  it('refuses a growth that is not a whole percent, before setting anything', async () => {
    for (const bad of ['-5', '1.5', 'lots']) {
      await expect(replayCommand([recording, `--heap-growth=${bad}`])).rejects.toThrow(/--heap-growth must be a whole number >= 0/);
    }
    expect(() => setHeapGrowth(-1)).toThrow(RangeError);
    expect(flags).toEqual([]);
  });

  it('takes --memory-budget instead of a fixed growth, and replays the same alerts', async () => {
    const plain = join(dir, 'plain.jsonl');
    const budgeted = join(dir, 'budgeted.jsonl');
    expect(await replayCommand([recording, '--out', plain, '--quiet'])).toBe(0);
    flags.length = 0;
    expect(await replayCommand([recording, '--out', budgeted, '--quiet', '--memory-budget', '400'])).toBe(0);
    // Steered from the first reading (a growth from the room left, compaction off), and compaction off again at the end.
    expect(flags[0]).toMatch(/^--heap-growing-percent=\d+$/);
    expect(flags).not.toContain(`--heap-growing-percent=${REPLAY_HEAP_GROWTH_PERCENT}`);
    expect(flags).toContain('--no-optimize-for-size');
    const withoutTime = (file: string) => readFileSync(file, 'utf8').trim().split('\n').map((l) => ({ ...JSON.parse(l), detectedAt: undefined }));
    expect(withoutTime(budgeted)).toEqual(withoutTime(plain));
  });

  it('refuses a budget under 100 MB, or beside --heap-growth, before setting anything', async () => {
    for (const bad of ['99', '0', '1.5', 'small']) {
      await expect(replayCommand([recording, `--memory-budget=${bad}`])).rejects.toThrow(/--memory-budget must be a whole number >= 100/);
    }
    await expect(replayCommand([recording, '--memory-budget', '400', '--heap-growth', '30'])).rejects.toThrow('--memory-budget and --heap-growth both set how far the heap grows: give one of them');
    expect(flags).toEqual([]);
  });

  it('refuses --checkpoint-every without --redis or below 1, before setting anything', async () => {
    await expect(replayCommand([recording, '--checkpoint-every', '500'])).rejects.toThrow('--checkpoint-every applies to --redis only');
    for (const bad of ['0', '2.5', 'often']) {
      await expect(replayCommand([recording, '--redis', 'redis://127.0.0.1:1', `--checkpoint-every=${bad}`])).rejects.toThrow(/--checkpoint-every must be a whole number >= 1/);
    }
    expect(flags).toEqual([]);
  });
});
