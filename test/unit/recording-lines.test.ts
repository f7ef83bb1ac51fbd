/**
 * The recording's line splitter: the lines readline (crlfDelay: Infinity) would give, whatever the
 * line endings and wherever the chunks of the file end.
 */
import { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { lineBatches } from '../../src/pipeline/recording.ts';

async function* chunksOf(text: string, size: number): AsyncIterable<Buffer> {
  const bytes = Buffer.from(text, 'utf8');
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function split(text: string, size: number): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of lineBatches(chunksOf(text, size))) out.push(...batch);
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
    it(`gives readline's lines (${name}) with chunks of every size from 1 byte`, async () => {
      const expected = await byReadline(text);
      for (const size of [1, 2, 3, 5, 7, 64, 1 << 20]) expect(await split(text, size), `chunks of ${size}`).toEqual(expected);
    });
  }

  it('decodes a character whose bytes fall in two chunks whole', async () => {
    const text = '{"n":"中"}\n';
    // '中' is 3 bytes at offset 6: chunks of 7 cut it after its first byte.
    expect(await split(text, 7)).toEqual(['{"n":"中"}']);
  });
});
