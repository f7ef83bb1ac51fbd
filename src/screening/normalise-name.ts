/**
 * Names as screening compares them: Latin-folded (accents, ß, Ł...), lower case, punctuation as
 * space, and company-form and generic words dropped, as OpenSanctions' "fingerprints" do, so
 * "Zhāng Wěihóng Trading Co., Ltd." and "ZHANG WEIHONG LIMITED" both become "zhang weihong".
 */
import anyAscii from 'any-ascii';

/** Organisation forms and generic words that say nothing about who the party is. */
const NOISE_WORDS = new Set([
  'co', 'company', 'companies', 'corp', 'corporation', 'inc', 'incorporated', 'ltd', 'limited', 'llc', 'llp', 'lp', 'plc',
  'gmbh', 'ag', 'kg', 'ohg', 'mbh', 'sa', 'sas', 'sarl', 'srl', 'spa', 'bv', 'nv', 'ab', 'as', 'oy', 'kk', 'kft', 'zrt',
  'sro', 'pte', 'pvt', 'pty', 'sdn', 'bhd', 'jsc', 'pjsc', 'ojsc', 'ooo', 'zao', 'fze', 'fzco', 'fzc', 'dmcc', 'de', 'cv',
  'the', 'and', 'of', 'trading', 'trade', 'holding', 'holdings', 'group', 'international', 'intl', 'enterprise',
  'enterprises', 'industrial', 'industries', 'industry', 'import', 'export', 'imp', 'exp', 'hk', 'global',
]);

export interface NormalisedName {
  /** Tokens joined by one space: what the evidence shows. */
  text: string;
  tokens: string[];
}

export function normaliseName(name: string): NormalisedName {
  const folded = anyAscii(name.normalize('NFKC')).toLowerCase();
  // "Co.,Ltd." and "S.A." lose their dots first, so "s.a." becomes "sa" rather than "s a".
  const words = folded
    .replace(/(?<=\b[a-z])\.(?=[a-z]\b)/g, '')
    .replace(/[^a-z0-9]+/g, ' ')
    // "(Hong Kong) Limited" says no more than "(HK) Limited": the place a company is registered.
    .replace(/\bhong kong\b/g, ' ')
    .trim()
    .replace(/ +/g, ' ')
    .split(' ')
    .filter((w) => w.length > 0);
  const kept = words.filter((w) => !NOISE_WORDS.has(w));
  // A name made only of noise words ("Trading Co., Ltd.") keeps them rather than vanish.
  const tokens = kept.length > 0 ? kept : words;
  return { text: tokens.join(' '), tokens };
}
