import { describe, expect, it } from 'vitest';
import { SCRIPTS, expandIncludes, loadScript } from '../../src/state/scripts.ts';

const library = (files: Record<string, string>) => (name: string) => {
  const text = files[name];
  if (text === undefined) throw new Error(`no such include ${name}`);
  return text;
};

describe('Lua include preprocessor', () => {
  it('pastes includes in place, recursively, each once', () => {
    const read = library({
      numbers: 'local function a() end',
      json: '--@include "numbers"\nlocal function b() end',
    });
    const out = expandIncludes('--@include "json"\n--@include "numbers"\nreturn 1', read, 'main.lua');
    expect(out.match(/local function a/g)).toHaveLength(1);
    expect(out.indexOf('local function a')).toBeLessThan(out.indexOf('local function b'));
    expect(out.trimEnd().endsWith('return 1')).toBe(true);
  });

  it('names the file and line of a missing include', () => {
    expect(() => expandIncludes('x\n--@include "nope"', library({}), 'main.lua')).toThrow(/main\.lua:2: cannot read include "nope"/);
  });

  it('refuses cycles and malformed directives', () => {
    const read = library({ a: '--@include "b"', b: '--@include "a"' });
    expect(() => expandIncludes('--@include "a"', read, 'main.lua')).toThrow(/cycle main\.lua -> a -> b -> a/);
    expect(() => expandIncludes("--@include 'a'", read, 'main.lua')).toThrow(/malformed/);
  });

  it('leaves no directive in the shipped scripts and keeps their key count in the name', () => {
    for (const definition of Object.values(SCRIPTS)) {
      const text = loadScript(definition);
      expect(text).not.toMatch(/^--@include/m);
      expect(definition.file).toMatch(new RegExp(`-${definition.numberOfKeys}\\.lua$`));
      expect(definition.name).toMatch(/^ree_[A-Za-z]+_v\d+$/);
      // The header documents every key the script is given.
      for (let i = 1; i <= definition.numberOfKeys; i++) expect(text).toContain(`KEYS[${i}]`);
      expect(text).not.toContain(`KEYS[${definition.numberOfKeys + 1}]`);
    }
  });
});
