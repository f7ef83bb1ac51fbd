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

/**
 * Candidate token pairs of one comparison, best first, in scratch arrays reused by every call: a
 * new watchlist entry is compared with every client seen so far, and a list of pair objects, two
 * sets and a joined token list per comparison were most of what screening allocated.
 */
const pairSim: number[] = [];
const pairA: number[] = [];
const pairB: number[] = [];
let usedA = new Uint8Array(16);
let usedB = new Uint8Array(16);

export function compareTokens(a: readonly string[], b: readonly string[], settings: MatchSettings): NameComparison {
  let pairs = 0;
  for (let i = 0; i < a.length; i += 1) {
    for (let j = 0; j < b.length; j += 1) {
      const sim = tokenSimilarity(a[i]!, b[j]!);
      if (sim < settings.tokenThreshold) continue;
      // Best pairs first; pairs come in (i, j) order and an equal score never moves ahead, so ties
      // stay by position and the result never depends on a sort's stability.
      let at = pairs;
      while (at > 0 && pairSim[at - 1]! < sim) {
        pairSim[at] = pairSim[at - 1]!;
        pairA[at] = pairA[at - 1]!;
        pairB[at] = pairB[at - 1]!;
        at -= 1;
      }
      pairSim[at] = sim;
      pairA[at] = i;
      pairB[at] = j;
      pairs += 1;
    }
  }
  if (usedA.length < a.length) usedA = new Uint8Array(a.length);
  if (usedB.length < b.length) usedB = new Uint8Array(b.length);
  usedA.fill(0, 0, a.length);
  usedB.fill(0, 0, b.length);
  let matchedWeight = 0;
  let exactTokens = 0;
  let matchedTokens = 0;
  for (let k = 0; k < pairs; k += 1) {
    const i = pairA[k]!;
    const j = pairB[k]!;
    if (usedA[i] === 1 || usedB[j] === 1) continue;
    usedA[i] = 1;
    usedB[j] = 1;
    matchedTokens += 1;
    matchedWeight += pairSim[k]! * (a[i]!.length + b[j]!.length);
    if (a[i] === b[j]) exactTokens += 1;
  }
  let totalWeight = 0;
  for (const t of a) totalWeight += t.length;
  for (const t of b) totalWeight += t.length;
  const score = totalWeight === 0 ? 0 : matchedWeight / totalWeight;
  // A one-word name ("Rosatom") can match on its one word, unless that word is a surname.
  const singleWord = a.length === 1 && b.length === 1 && matchedTokens === 1 && !isCommonSurname(a[0]!) && !isCommonSurname(b[0]!);
  const enoughTokens = matchedTokens >= settings.minMatchedTokens || singleWord;
  return { score, matchedTokens, exactTokens, isMatch: enoughTokens && score >= settings.threshold };
}

export function compareNames(a: string, b: string, settings: MatchSettings): NameComparison {
  return compareForms(tokenForms(normaliseName(a)), tokenForms(normaliseName(b)), settings);
}
