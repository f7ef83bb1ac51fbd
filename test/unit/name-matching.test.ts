/**
 * Name screening: normalisation, romanisation variants, and look-alikes that must not match.
 * Names are invented; the variants are those of DESIGN.md and RULE-EVIDENCE.md.
 */
import { describe, expect, it } from 'vitest';
import { compareNames } from '../../src/screening/match-name.ts';
import { normaliseName } from '../../src/screening/normalise-name.ts';
import { isCommonSurname, sameSyllable } from '../../src/screening/romanisation.ts';
import { buildWatchlistIndex } from '../../src/screening/watchlist-index.ts';
import { watchlistMatchParams } from '../../src/rules/watchlist-match.ts';

const SETTINGS = watchlistMatchParams.parse({});
const match = (a: string, b: string) => compareNames(a, b, SETTINGS).isMatch;

describe('normaliseName', () => {
  it.each([
    ['Zhāng Wěihóng Trading Co., Ltd.', 'zhang weihong'],
    ['ZHANG WEIHONG LIMITED', 'zhang weihong'],
    ['Müller & Söhne GmbH', 'muller sohne'],
    ['Łódź Magnet S.A.', 'lodz magnet'],
    ['Nordwerk GmbH & Co. KG', 'nordwerk'],
    ['Siam Magnet Public Co., Ltd.', 'siam magnet public'],
    ['Trading Co., Ltd.', 'trading co ltd'],
    ['ZHANG WEIHONG (HONG KONG) LIMITED', 'zhang weihong'],
    ['Zhang Weihong (HK) Ltd', 'zhang weihong'],
  ])('%s → %s', (name, text) => {
    expect(normaliseName(name).text).toBe(text);
  });
});

describe('romanisation variants', () => {
  it.each([
    ['zhang', 'chang'], ['zhang', 'cheung'], ['chen', 'chan'], ['wang', 'wong'], ['li', 'lee'], ['liu', 'lau'],
    ['zhou', 'chow'], ['xu', 'hsu'], ['guo', 'kwok'], ['huang', 'wong'], ['wu', 'ng'], ['wei', 'wai'], ['hong', 'hung'],
  ])('%s ~ %s', (a, b) => {
    expect(sameSyllable(a, b)).toBe(true);
  });

  it('keeps different surnames apart, even when one spelling serves two (Wong)', () => {
    expect(sameSyllable('wang', 'huang')).toBe(false);
    expect(sameSyllable('zhang', 'chen')).toBe(false);
    expect(isCommonSurname('cheung')).toBe(true);
    expect(isCommonSurname('magnetics')).toBe(false);
  });
});

describe('compareNames: matches', () => {
  it.each([
    ['Zhang Weihong Trading Co., Ltd.', 'Chang Wei-Hong Trading Limited'],
    ['Zhang Weihong Trading Co., Ltd.', 'CHEUNG WAI HUNG LTD'],
    ['Zhang Weihong Trading Co., Ltd.', 'Zhāng Wěihóng'],
    ['Zhang Weihong', 'Zhang Weihomg'],
    ['Chen Xiaoming', 'Chan Siu Ming'],
    ['Huang Jianguo', 'Wong Kin Kwok'],
    ['Liu Qiang', 'Lau Keung'],
    ['Xu Zhiqiang Import Export', 'Hsu Chih-Chiang'],
    ['Guo Hua Rare Metals', 'Kwok Wah Rare Metals Ltd'],
    ['Weihong Zhang', 'Zhang Weihong'],
    ['Rosatom', 'Rosatom LLC'],
    ['Zhang Weihong Trading Co., Ltd.', 'ZHANG WEIHONG (HONG KONG) LIMITED'],
  ])('%s ~ %s', (a, b) => {
    expect(match(a, b)).toBe(true);
  });
});

describe('compareNames: look-alikes that must not match', () => {
  it.each([
    ['one shared surname', 'Zhang Weihong Trading Co., Ltd.', 'Zhang Magnetics GmbH'],
    ['a surname on its own', 'Zhang', 'Chang Ltd'],
    ['a shorter given name', 'Zhang Weihong', 'Zhang Wei'],
    ['same surname and trade, other given name', 'Guo Hua Rare Metals', 'Guo Hong Rare Earth Materials'],
    ['two of three words, one extra', 'Kanto Magnetics Co., Ltd.', 'Kanto Sanwa Magnetics K.K.'],
    ['Wang and Huang, both "Wong" in Cantonese, but different given names', 'Wang Jun', 'Huang Ming'],
    ['a company form only', 'Trading Co., Ltd.', 'Apex Trading Co., Ltd.'],
  ])('%s: %s vs %s', (_, a, b) => {
    expect(match(a, b)).toBe(false);
  });
});

describe('watchlist index', () => {
  const entries = [
    { entryId: 'W-2', name: 'Chen Xiaoming', aliases: ['Chan Siu Ming'], country: null, reason: 'r', listedAt: 0 },
    { entryId: 'W-1', name: 'Zhang Weihong', aliases: [], country: null, reason: 'r', listedAt: 0 },
  ];
  const index = buildWatchlistIndex(entries);

  it('finds each matching entry once, by its best name', () => {
    expect(index.screen('Chan Siu-Ming Ltd', SETTINGS).map((h) => [h.entry.entryId, h.matchedName])).toEqual([['W-2', 'Chan Siu Ming']]);
  });

  it('finds a variant whose first letters differ from the entry (block keys include the variant group)', () => {
    expect(index.screen('Cheung Wai Hung', SETTINGS).map((h) => h.entry.entryId)).toEqual(['W-1']);
  });

  it('finds nothing for an unrelated name', () => {
    expect(index.screen('Lakeshore Magnetics Inc.', SETTINGS)).toEqual([]);
  });
});

describe('watchlist index after a change', () => {
  const NAMES = ['Zhang Weihong', 'Cheung Wai Hung', 'Chen Xiaoming', 'Chan Siu Ming', 'Wang Li Trading', 'Wong Lee', 'Huang Hong', 'Lakeshore Magnetics', 'Lakeshore Magnetic Corp', 'Nordwerk', 'Nordwerk Holding', 'Liu Wei', 'Lau Wai', 'Zhou Jian Guo', 'Chow Kin Kwok'];
  const CLIENTS = [...NAMES.map((n) => `${n} Co., Ltd.`), 'Chang Weihong', 'Chan Xiao Ming', 'Lakeshore Magnetics Inc.', 'Unrelated Metals', 'Wai Hung Cheung'];
  const entry = (id: number, name: string, aliases: string[]) => ({ entryId: `W-${id}`, name, aliases, country: null, reason: `r${id}`, listedAt: id });

  it('screens every client as an index built afresh would, over many additions, changes and removals', () => {
    let seed = 3;
    const random = (n: number) => Math.floor(((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31) * n);
    const settings = [SETTINGS, { ...SETTINGS, threshold: 0.8, minMatchedTokens: 1 }];
    let entries: ReturnType<typeof entry>[] = [];
    let index = buildWatchlistIndex(entries);
    let olderEntries = entries;
    let hits = 0;
    for (let version = 1; version <= 60; version += 1) {
      const id = random(12);
      const others = entries.filter((e) => e.entryId !== `W-${id}`);
      // Remove, add or change one entry (a watchlist topic record), sometimes leave it as it was.
      const action = random(4);
      entries = action === 0 ? others : action === 3 ? entries : [...others, entry(id, NAMES[random(NAMES.length)]!, random(2) === 0 ? [] : [NAMES[random(NAMES.length)]!])];
      const older = index;
      const olderFresh = buildWatchlistIndex(olderEntries);
      index = buildWatchlistIndex(entries, index);
      const fresh = buildWatchlistIndex(entries);

      // Some clients only every other version: what a version never screened is screened in full later.
      for (const client of CLIENTS.filter((_, i) => (i + version) % 3 !== 0)) {
        for (const s of settings) {
          const got = index.screen(client, s);
          expect(got).toEqual(fresh.screen(client, s));
          for (const h of got) expect(entries).toContain(h.entry);
          hits += got.length;
        }
      }
      // A batch that began before the change still screens with the index it began with.
      for (const client of CLIENTS.filter((_, i) => (i + version) % 2 === 0)) expect(older.screen(client, SETTINGS)).toEqual(olderFresh.screen(client, SETTINGS));
      olderEntries = entries;
    }
    expect(hits).toBeGreaterThan(200);
  });
});
