/**
 * textEdit (engine/redis-durability.ts): a changed field sent as the bytes kept from each end of
 * the stored text and a new middle. Applied here as saveProducer-2.lua applies it, on bytes.
 */
import { describe, expect, it } from 'vitest';
import { MIN_EDITED_LENGTH, textEdit } from '../../src/state/engine/redis-durability.ts';

/** What the script does: string.sub(stored, 1, head) .. middle .. string.sub(stored, #stored - tail + 1), in bytes. */
function applyAsScript(stored: string, edit: { head: number; tail: number; middle: string }): string {
  const bytes = Buffer.from(stored, 'utf8');
  return Buffer.concat([bytes.subarray(0, edit.head), Buffer.from(edit.middle, 'utf8'), bytes.subarray(bytes.length - edit.tail)]).toString('utf8');
}

const span = (entries: number): string => `[["RCP-16-000",5],[${Array.from({ length: entries }, (_, i) => `[0,${2300 + i},${i * 3600},0]`).join(',')}]]`;

describe('textEdit', () => {
  it('sends only what changed near the end: an entry added to an applied span', () => {
    const stored = span(20);
    const text = span(21);
    const edit = textEdit(stored, text)!;
    expect(edit.middle.length).toBeLessThan(30);
    expect(applyAsScript(stored, edit)).toBe(text);
  });

  it('gives back the new text exactly, whatever changed, including text beyond ASCII', () => {
    const base = `{"v":3,"fields":["client","name"],"keys":[["C-1",["SHP-",0],null,[${'[1,2,"x"],'.repeat(20)}[9,9,"Müller & Søn"]]]]}`;
    const variants = [
      base.replace('Müller', 'Mueller'),
      base.replace('[9,9,', '[9,10,'),
      base.replace('"v":3', '"v":4'),
      `${base.slice(0, 80)}[5,5,"東京"],${base.slice(80)}`,
      base.slice(0, 100) + base.slice(120),
      base,
      base + base,
    ];
    for (const text of variants) {
      const edit = textEdit(base, text);
      if (edit) expect(applyAsScript(base, edit)).toBe(text);
      const back = textEdit(text, base);
      if (back) expect(applyAsScript(text, back)).toBe(base);
    }
  });

  it('counts what it keeps in UTF-8 bytes, as the script does, and never splits a surrogate pair', () => {
    const stored = `${'é'.repeat(40)}${'a'.repeat(100)}😀${'ü'.repeat(40)}`;
    const text = `${'é'.repeat(40)}${'a'.repeat(100)}😀b${'ü'.repeat(40)}`;
    const edit = textEdit(stored, text)!;
    expect(edit.head).toBe(80 + 100);
    expect(edit.tail).toBe(80);
    expect(applyAsScript(stored, edit)).toBe(text);
  });

  it('does not overlap its ends when the text repeats itself', () => {
    const stored = 'a'.repeat(200);
    const text = 'a'.repeat(201);
    const edit = textEdit(stored, text)!;
    expect(edit.head + edit.tail).toBeLessThanOrEqual(200);
    expect(applyAsScript(stored, edit)).toBe(text);
    const shorter = textEdit(text, stored)!;
    expect(applyAsScript(text, shorter)).toBe(stored);
  });

  it('sends a text whole when too little of it would be kept', () => {
    const stored = 'x'.repeat(MIN_EDITED_LENGTH);
    expect(textEdit(stored, 'y'.repeat(MIN_EDITED_LENGTH))).toBeNull();
    expect(textEdit(stored, `${'x'.repeat(20)}${'y'.repeat(200)}${'x'.repeat(20)}`)).toBeNull();
  });
});
