/**
 * The recording's line splitter: the lines readline (crlfDelay: Infinity) would give, whatever the
 * line endings and wherever the chunks of the file end.
 */
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { LINES_PER_BATCH, lineBatches, type ReadInto } from '../../src/pipeline/recording.ts';

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
