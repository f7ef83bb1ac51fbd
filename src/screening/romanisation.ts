/**
 * Chinese names reach customs in several romanisations: Hanyu Pinyin on the mainland, Wade-Giles
 * in Taiwan and older documents, Cantonese (Jyutping-style) spellings in Hong Kong and the
 * diaspora. No JS table for Wade-Giles or Cantonese is worth relying on, so this is a small one of
 * our own: each group lists spellings of one syllable. A spelling can sit in two groups (Wong is
 * both Wang and Huang in Cantonese), so a token maps to a set of groups.
 */
const VARIANT_GROUPS: readonly (readonly string[])[] = [
  // Surnames
  ['zhang', 'chang', 'cheung', 'cheong', 'teo'],
  ['chen', 'chan', 'chin', 'tan'],
  ['wang', 'wong', 'ong'],
  ['huang', 'hwang', 'wong', 'ng'],
  ['li', 'lee', 'lei', 'lie'],
  ['liu', 'lau', 'lao', 'lew'],
  ['zhou', 'chou', 'chow', 'chau'],
  ['xu', 'hsu', 'hui', 'tsui', 'chui'],
  ['guo', 'kuo', 'kwok', 'kok'],
  ['wu', 'ng', 'woo', 'goh'],
  ['zhao', 'chao', 'chiu', 'chew'],
  ['yang', 'yeung', 'yeo'],
  ['lin', 'lam', 'lim'],
  ['he', 'ho', 'hoh'],
  ['zheng', 'cheng', 'chung', 'tay'],
  ['xie', 'hsieh', 'tse', 'cheah'],
  ['cai', 'tsai', 'choi', 'chua'],
  ['zhu', 'chu', 'chuu'],
  ['sun', 'suen', 'soon'],
  ['ma', 'mah'],
  ['hu', 'woo'],
  ['luo', 'lo', 'law', 'loh'],
  ['liang', 'leung', 'neo'],
  ['song', 'sung', 'soong'],
  ['gao', 'kao', 'ko'],
  ['deng', 'teng', 'tang'],
  ['feng', 'fung', 'fong'],
  // Given-name syllables that differ between the systems
  ['wei', 'wai'],
  ['hong', 'hung'],
  ['jun', 'chun', 'tsun'],
  ['zhi', 'chih', 'chi'],
  ['qing', 'ching'],
  ['qiang', 'chiang', 'keung'],
  ['jian', 'chien', 'kin'],
  ['xiao', 'hsiao', 'siu'],
  ['xin', 'hsin', 'san'],
  ['jie', 'chieh', 'kit'],
  ['ming', 'meng'],
  ['hua', 'wah'],
  ['guang', 'kuang', 'kwong'],
  ['jin', 'chin', 'kam'],
  ['xiong', 'hsiung', 'hung'],
  ['rong', 'jung', 'wing'],
];

const GROUPS_OF = new Map<string, number[]>();
VARIANT_GROUPS.forEach((group, index) => {
  for (const spelling of group) GROUPS_OF.set(spelling, [...(GROUPS_OF.get(spelling) ?? []), index]);
});

/** The variant groups a lower-case token belongs to (empty when the table does not know it). */
export function variantGroups(token: string): readonly number[] {
  return GROUPS_OF.get(token) ?? [];
}

/** Two spellings of one syllable in different romanisations. */
export function sameSyllable(a: string, b: string): boolean {
  const groupsOfA = GROUPS_OF.get(a);
  if (groupsOfA === undefined) return false;
  const groupsOfB = GROUPS_OF.get(b);
  if (groupsOfB === undefined) return false;
  // Asked for every token pair compared: plain loops, no closure per call.
  for (const g of groupsOfB) if (groupsOfA.includes(g)) return true;
  return false;
}

/** Surnames (the first few groups): sharing one of these alone is never a match. */
const SURNAME_GROUP_COUNT = 27;
export function isCommonSurname(token: string): boolean {
  return variantGroups(token).some((g) => g < SURNAME_GROUP_COUNT);
}
