/**
 * The simulated watchlist: invented restricted parties with Chinese names and their Cantonese or
 * Wade-Giles aliases, and the name variants a front company might trade under. Every entry is
 * checked against the others and against the world's clients with the detector's own matcher, so
 * clean traffic never matches and an injected variant matches only the entry it was made from.
 */
import type { WatchlistEntry } from '../domain/events.ts';
import { watchlistMatchParams } from '../rules/watchlist-match.ts';
import { compareForms, tokenForms } from '../screening/match-name.ts';
import { normaliseName } from '../screening/normalise-name.ts';
import type { Rng } from './random.ts';

/** Pinyin surname → its Cantonese / Wade-Giles spelling (the alias). */
const SURNAMES: [string, string][] = [
  ['Zhang', 'Cheung'], ['Chen', 'Chan'], ['Wang', 'Wong'], ['Li', 'Lee'], ['Liu', 'Lau'], ['Zhou', 'Chow'],
  ['Xu', 'Hsu'], ['Guo', 'Kwok'], ['Huang', 'Wong'], ['Wu', 'Ng'], ['Zhao', 'Chiu'], ['Yang', 'Yeung'],
  ['Lin', 'Lam'], ['Zheng', 'Cheng'], ['Xie', 'Tse'], ['Cai', 'Choi'], ['Liang', 'Leung'], ['Feng', 'Fung'],
];
/** Pinyin given-name syllable → its other spelling. */
const GIVEN: [string, string][] = [
  ['wei', 'wai'], ['hong', 'hung'], ['jun', 'chun'], ['zhi', 'chi'], ['qing', 'ching'], ['qiang', 'keung'],
  ['jian', 'kin'], ['xiao', 'siu'], ['xin', 'hsin'], ['jie', 'kit'], ['ming', 'meng'], ['hua', 'wah'],
  ['guang', 'kwong'], ['jin', 'kam'], ['rong', 'wing'],
];
const TRADES = ['Rare Metals', 'Magnet Materials', 'New Materials', 'Technology', 'Resources', 'Minerals', 'Electronics'];
const FORMS = ['Trading Co., Ltd.', 'Co., Ltd.', 'Limited', 'Import & Export Co., Ltd.', 'FZE', 'Pte. Ltd.', 'Holdings Limited'];
const COUNTRIES = ['HK', 'AE', 'SG', 'MY', 'KZ', 'TR'];
const REASONS = [
  'export-control violation: diversion of controlled rare earths',
  'front company for an end user denied a licence',
  'smuggling of Dy/Tb products (customs penalty decision)',
  'transshipment of controlled goods to an embargoed destination',
];

const cap = (s: string): string => s[0]!.toUpperCase() + s.slice(1);

export interface PartyName {
  surname: [string, string];
  given: [[string, string], [string, string]];
  trade: string;
}

const render = (n: PartyName, alias: boolean, form: string): string => {
  const k = alias ? 1 : 0;
  const given = alias ? `${cap(n.given[0][k])} ${cap(n.given[1][k])}` : cap(n.given[0][k] + n.given[1][k]);
  return `${n.surname[k]} ${given} ${n.trade} ${form}`;
};

export const MATCH_SETTINGS = watchlistMatchParams.parse({});
/** Names are checked against the same lists again and again: normalise each once per run. */
const formsCache = new Map<string, string[][]>();
function formsOf(name: string): string[][] {
  let forms = formsCache.get(name);
  if (!forms) {
    if (formsCache.size > 100_000) formsCache.clear();
    forms = tokenForms(normaliseName(name));
    formsCache.set(name, forms);
  }
  return forms;
}
const matches = (a: string, b: string): boolean => compareForms(formsOf(a), formsOf(b), MATCH_SETTINGS).isMatch;

export interface RestrictedParty {
  entry: WatchlistEntry;
  name: PartyName;
  /** Names its front companies have traded under: no later entry may match them either. */
  frontNames: string[];
}

/**
 * A new party whose names match none of `taken` (names of other entries and of real clients).
 * Returns undefined when a few tries find nothing free.
 */
export function newRestrictedParty(rng: Rng, entryId: string, listedAt: number, taken: readonly string[]): RestrictedParty | undefined {
  for (let attempt = 0; attempt < 30; attempt += 1) {
    const [g1, g2] = rng.sample(GIVEN, 2) as [[string, string], [string, string]];
    const name: PartyName = { surname: rng.pick(SURNAMES), given: [g1, g2], trade: rng.pick(TRADES) };
    const names = [render(name, false, rng.pick(FORMS)), render(name, true, rng.pick(FORMS))];
    if (names.some((n) => taken.some((t) => matches(n, t)))) continue;
    const entry: WatchlistEntry = {
      entryId,
      name: names[0]!,
      aliases: [names[1]!],
      country: rng.pick(COUNTRIES),
      reason: rng.pick(REASONS),
      listedAt,
    };
    return { entry, name, frontNames: [] };
  }
  return undefined;
}

/**
 * A name a front company of `party` might use: another romanisation, the given name run together
 * or split, capitals, tone marks, another company form. It must still match the party, and
 * nothing in `others`.
 */
export function frontCompanyName(rng: Rng, party: RestrictedParty, others: readonly string[]): string | undefined {
  const TONED: Record<string, string> = { a: 'ā', e: 'é', i: 'ǐ', o: 'ò', u: 'ū' };
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const pickSpelling = (pair: [string, string]) => pair[rng.int(0, 1)]!;
    const [a, b] = [pickSpelling(party.name.given[0]), pickSpelling(party.name.given[1])];
    const given = rng.pick([`${cap(a)}${b}`, `${cap(a)}-${cap(b)}`, `${cap(a)} ${cap(b)}`]);
    let name = `${pickSpelling(party.name.surname)} ${given} ${party.name.trade} ${rng.pick(FORMS)}`;
    if (rng.chance(0.3)) name = name.toUpperCase();
    else if (rng.chance(0.3)) name = name.replace(/[aeiou]/, (v) => TONED[v]!);
    if (!party.entry.aliases.concat(party.entry.name).some((n) => matches(name, n))) continue;
    if (others.some((o) => matches(name, o))) continue;
    return name;
  }
  return undefined;
}
