/**
 * Fuzzy comparison of two party names, token by token. Each token of one name may match one token
 * of the other once (Moov Watchman's rule); tokens agree when equal, when they are spellings of one
 * syllable in different romanisations, or by Jaro-Winkler similarity. The name score weighs each
 * token by its length over both names, so unmatched tokens on either side pull it down.
 */
import { jaroWinkler } from '@skyra/jaro-winkler';
import { normaliseName, type NormalisedName } from './normalise-name.ts';
import { isCommonSurname, sameSyllable, variantGroups } from './romanisation.ts';

export interface MatchSettings {
  /** Lowest name score that is a match. */
  threshold: number;
  /** Lowest similarity at which two tokens count as the same word. */
  tokenThreshold: number;
  /** Tokens that must agree; 2 means one shared surname is never enough. */
  minMatchedTokens: number;
}

export interface NameComparison {
  score: number;
  matchedTokens: number;
  /** Matched tokens spelt exactly alike: breaks ties between a name and its aliases. */
  exactTokens: number;
  isMatch: boolean;
}

/** Splits "weihong" into "wei hong" when both halves are syllables the variant table knows. */
function splitSyllables(token: string): string[] {
  if (variantGroups(token).length > 0) return [token];
  for (let cut = 2; cut <= token.length - 2; cut += 1) {
    const [head, tail] = [token.slice(0, cut), token.slice(cut)];
    if (variantGroups(head).length > 0 && variantGroups(tail).length > 0) return [head, tail];
  }
  return [token];
}

/**
 * The token lists a name is compared by: as written, and with run-together Chinese given names
 * split ("weihong" → "wei hong"), so both "Wai Hung" and a typo such as "Weihomg" can be met.
 */
export function tokenForms(name: NormalisedName): string[][] {
  const split = name.tokens.flatMap(splitSyllables);
  return split.length === name.tokens.length ? [name.tokens] : [name.tokens, split];
}

/** A match beats no match, then the higher score, then more exactly spelt tokens. */
export function betterComparison(x: NameComparison, y: NameComparison): boolean {
  if (x.isMatch !== y.isMatch) return x.isMatch;
  if (x.score !== y.score) return x.score > y.score;
  return x.exactTokens > y.exactTokens;
}

/** The best comparison over both names' token forms. */
export function compareForms(a: readonly string[][], b: readonly string[][], settings: MatchSettings): NameComparison {
  let best: NameComparison | undefined;
  for (const ta of a) {
    for (const tb of b) {
      const result = compareTokens(ta, tb, settings);
      if (!best || betterComparison(result, best)) best = result;
    }
  }
  return best!;
}

export function tokenSimilarity(a: string, b: string): number {
  if (a === b || sameSyllable(a, b)) return 1;
  return jaroWinkler(a, b);
}

export function compareTokens(a: readonly string[], b: readonly string[], settings: MatchSettings): NameComparison {
  const pairs: { i: number; j: number; sim: number }[] = [];
  a.forEach((ta, i) =>
    b.forEach((tb, j) => {
      const sim = tokenSimilarity(ta, tb);
      if (sim >= settings.tokenThreshold) pairs.push({ i, j, sim });
    }),
  );
  // Best pairs first; ties by position so the result never depends on sort stability.
  pairs.sort((x, y) => y.sim - x.sim || x.i - y.i || x.j - y.j);
  const usedA = new Set<number>();
  const usedB = new Set<number>();
  let matchedWeight = 0;
  let exactTokens = 0;
  for (const p of pairs) {
    if (usedA.has(p.i) || usedB.has(p.j)) continue;
    usedA.add(p.i);
    usedB.add(p.j);
    matchedWeight += p.sim * (a[p.i]!.length + b[p.j]!.length);
    if (a[p.i] === b[p.j]) exactTokens += 1;
  }
  const totalWeight = [...a, ...b].reduce((sum, t) => sum + t.length, 0);
  const score = totalWeight === 0 ? 0 : matchedWeight / totalWeight;
  const matchedTokens = usedA.size;
  // A one-word name ("Rosatom") can match on its one word, unless that word is a surname.
  const singleWord = a.length === 1 && b.length === 1 && matchedTokens === 1 && !isCommonSurname(a[0]!) && !isCommonSurname(b[0]!);
  const enoughTokens = matchedTokens >= settings.minMatchedTokens || singleWord;
  return { score, matchedTokens, exactTokens, isMatch: enoughTokens && score >= settings.threshold };
}

export function compareNames(a: string, b: string, settings: MatchSettings): NameComparison {
  return compareForms(tokenForms(normaliseName(a)), tokenForms(normaliseName(b)), settings);
}
