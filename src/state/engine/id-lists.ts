/**
 * Report ids written compactly when many are stored together (a book chunk's outflow reports): the
 * ids of one producer share a long prefix ("PRD-16-000" in "PRD-16-00025130"), so a group of them
 * is written as that prefix once and each id as what follows it, a number when that is a plain
 * decimal integer ("25130" as 25130). Decoding gives every id back exactly: the balance checks
 * name them as alert subjects.
 */

/** What follows the prefix: a number when String(number) gives it back exactly, else the text. */
export type IdTail = number | string;

const PLAIN_INTEGER = /^(0|[1-9][0-9]{0,14})$/;

const tailOf = (rest: string): IdTail => (PLAIN_INTEGER.test(rest) ? Number(rest) : rest);

/**
 * The longest prefix of every id, shortened while it ends within a run of digits that a tail would
 * otherwise start with a zero of ("PRD-16-0003" + "0470" becomes "PRD-16-000" + 30470), so tails
 * stay numbers where they can.
 */
export function commonPrefix(ids: readonly string[]): string {
  let prefix: string | undefined;
  for (const id of ids) {
    if (prefix === undefined) {
      prefix = id;
      continue;
    }
    let n = 0;
    const max = Math.min(prefix.length, id.length);
    while (n < max && prefix.charCodeAt(n) === id.charCodeAt(n)) n += 1;
    prefix = prefix.slice(0, n);
  }
  if (prefix === undefined) return '';
  const isDigit = (c: string | undefined): boolean => c !== undefined && c >= '0' && c <= '9';
  let cut = prefix.length;
  const tailsStartWithZero = (at: number): boolean => {
    for (const id of ids) if (id.length > at + 1 && id[at] === '0') return true;
    return false;
  };
  while (cut > 0 && isDigit(prefix[cut - 1]) && tailsStartWithZero(cut)) cut -= 1;
  return prefix.slice(0, cut);
}

export function encodeIds(prefix: string, ids: readonly string[]): IdTail[] {
  return ids.map((id) => tailOf(id.slice(prefix.length)));
}

export function decodeIds(prefix: string, tails: readonly IdTail[]): string[] {
  return tails.map((tail) => prefix + (typeof tail === 'number' ? String(tail) : tail));
}
