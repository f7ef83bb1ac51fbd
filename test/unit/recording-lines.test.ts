/**
 * The recording's line splitter: the lines readline (crlfDelay: Infinity) would give, whatever the
 * line endings and wherever the chunks of the file end.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { LINES_PER_BATCH, lineBatches, readRecording, type ParsedLine, type ReadInto } from '../../src/pipeline/recording.ts';

/** The text's bytes handed out at most `size` at a time, through a buffer of `bufferBytes`. */
async function split(text: string, size: number, bufferBytes = 4): Promise<string[]> {
  const bytes = Buffer.from(text, 'utf8');
  let from = 0;
  const read: ReadInto = async (into, at) => {
    const n = Math.min(size, into.length - at, bytes.length - from);
    bytes.copy(into, at, from, from + n);
    from += n;
    return n;
  };
  const out: string[] = [];
  for await (const batch of lineBatches(read, bufferBytes)) out.push(...batch);
  return out;
}

async function byReadline(text: string): Promise<string[]> {
  const out: string[] = [];
  for await (const line of createInterface({ input: Readable.from([text]), crlfDelay: Infinity })) out.push(line);
  return out;
}

const TEXTS: Record<string, string> = {
  'LF, with a final break': '{"a":1}\n{"b":2}\n',
  'no final break': '{"a":1}\n{"b":2}',
  'CRLF': '{"a":1}\r\n{"b":2}\r\n',
  'blank lines kept for numbering': '\n{"a":1}\n\n\n{"b":2}\n',
  'a lone CR ends a line': '{"a":1}\r{"b":2}\n{"c":3}',
  'CR then CRLF': 'x\r\r\ny\n',
  'multi-byte characters': '{"name":"Zhōngguó 中国 — Ünïcode"}\n{"name":"Владимир"}\n😀\n',
  'empty file': '',
};

describe('lineBatches', () => {
  for (const [name, text] of Object.entries(TEXTS)) {
    it(`gives readline's lines (${name}) with reads of every size from 1 byte, lines longer than the buffer`, async () => {
      const expected = await byReadline(text);
      for (const size of [1, 2, 3, 5, 7, 64, 1 << 20]) {
        for (const bufferBytes of [1, 4, 1 << 16]) expect(await split(text, size, bufferBytes), `reads of ${size}, buffer of ${bufferBytes}`).toEqual(expected);
      }
    });
  }

  it('decodes a character whose bytes fall in two reads whole', async () => {
    const text = '{"n":"中"}\n';
    // '中' is 3 bytes at offset 6: reads of 7 cut it after its first byte.
    expect(await split(text, 7, 64)).toEqual(['{"n":"中"}']);
  });

  it('hands a big read on in small batches, so a line is not held while thousands before it are processed', async () => {
    const text = Array.from({ length: 3 * LINES_PER_BATCH + 5 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
    const bytes = Buffer.from(text, 'utf8');
    let from = 0;
    const read: ReadInto = async (into, at) => {
      const n = Math.min(into.length - at, bytes.length - from);
      bytes.copy(into, at, from, from + n);
      from += n;
      return n;
    };
    const sizes: number[] = [];
    const lines: string[] = [];
    // The whole text fits one read of the 1 MB buffer.
    for await (const batch of lineBatches(read)) {
      sizes.push(batch.length);
      lines.push(...batch);
    }
    expect(lines).toEqual(text.trimEnd().split('\n'));
    expect(Math.max(...sizes)).toBeLessThanOrEqual(LINES_PER_BATCH);
  });
});

describe('readRecording', () => {
  const dir = mkdtempSync(join(tmpdir(), 'recording-lines-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const record = (n: number): string => JSON.stringify({ topic: 'r.production.v1', key: `P${n}`, timestamp: n, value: { n } });
  /** Open file descriptors of this process (Linux); elsewhere, none counted. */
  const openFiles = (): number => {
    try {
      return readdirSync('/proc/self/fd').length;
    } catch {
      return 0;
    }
  };

  it('parses every line, numbered from 1, skips blank ones, reports a bad one, and reads the whole file', async () => {
    const path = join(dir, 'mixed.jsonl');
    const text = [record(1), '', 'not json', record(2), ...Array.from({ length: LINES_PER_BATCH * 3 }, (_, i) => record(i + 3))].join('\n');
    writeFileSync(path, text);
    const reader = readRecording(path);
    const got: ParsedLine[] = [];
    for await (const parsed of reader.lines) got.push(parsed);
    expect(got).toHaveLength(3 + LINES_PER_BATCH * 3);
    expect(got.map((p) => p.lineNo).slice(0, 4)).toEqual([1, 3, 4, 5]);
    expect(got[1]).toMatchObject({ ok: false, lineNo: 3, raw: 'not json' });
    expect(got[0]).toEqual({ ok: true, lineNo: 1, line: { topic: 'r.production.v1', key: 'P1', timestamp: 1, headers: undefined, partition: undefined, offset: undefined, value: { n: 1 } } });
    expect(got.at(-1)).toMatchObject({ ok: true, lineNo: 4 + LINES_PER_BATCH * 3, line: { value: { n: 2 + LINES_PER_BATCH * 3 } } });
    expect(reader.bytesRead()).toBe(reader.totalBytes);
  });

  it('closes the file when the reader stops early, and when it reaches the end', async () => {
    const path = join(dir, 'many.jsonl');
    writeFileSync(path, Array.from({ length: LINES_PER_BATCH * 4 }, (_, i) => record(i)).join('\n'));
    const before = openFiles();
    let seen = 0;
    for await (const parsed of readRecording(path).lines) {
      expect(parsed.ok).toBe(true);
      if ((seen += 1) === 10) break;
    }
    expect(openFiles()).toBe(before);
    seen = 0;
    for await (const _ of readRecording(path).lines) seen += 1;
    expect(seen).toBe(LINES_PER_BATCH * 4);
    expect(openFiles()).toBe(before);
  });
});
