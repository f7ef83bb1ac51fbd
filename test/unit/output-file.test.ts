/**
 * Output files appear only when complete, except a device or pipe, which is written in place:
 * renaming a finished file over `/dev/null` would replace the device with a file. A FIFO stands
 * in for the device here, so the test can never touch the machine's own.
 */
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openOutputFile } from '../../src/cli/output-file.ts';

const dir = mkdtempSync(join(tmpdir(), 'ree-output-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('openOutputFile', () => {
  it('writes a regular file as <path>.partial and moves it into place on commit', async () => {
    const path = join(dir, 'alerts.jsonl');
    const out = await openOutputFile(path, 'alerts');
    await out.write('a\n');
    expect(existsSync(path)).toBe(false);
    await out.commit();
    expect(readFileSync(path, 'utf8')).toBe('a\n');
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('writes a pipe in place and leaves it a pipe', async () => {
    const fifo = join(dir, 'pipe');
    execFileSync('mkfifo', [fifo]);
    const chunks: string[] = [];
    const reader = createReadStream(fifo, 'utf8').on('data', (c) => chunks.push(String(c)));
    const closed = new Promise<void>((resolve) => reader.on('close', () => resolve()));
    const out = await openOutputFile(fifo, 'alerts');
    await out.write('x\n');
    await out.commit();
    await closed;
    expect(chunks.join('')).toBe('x\n');
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(existsSync(`${fifo}.partial`)).toBe(false);
  });
});
