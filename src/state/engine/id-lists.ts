/**
 * Ids written compactly when many are stored together (a book chunk's outflow reports, a rule's
 * recent exports): the ids of one producer share a long prefix ("SHP-16-000" in
 * "SHP-16-00002341"), so a group of them is written as that prefix once and each id as what
 * follows it, a number where that gives it back exactly. Decoding gives every id back exactly: the
 * balance checks name them as alert subjects.
 *
 * A coding is `[prefix, width]`. With width > 0 every tail is that many digits, written as a
 * number and padded back with zeros ("02341" as 2341, width 5); with width 0 a tail is a number
 * only when it is a plain decimal integer ("25130" as 25130), text otherwise.
 */

export type IdTail = number | string;
export type IdCoding = [prefix: string, width: number];

const PLAIN_INTEGER = /^(0|[1-9][0-9]{0,14})$/;
const DIGITS = /^[0-9]{1,15}$/;

/** The longest prefix all ids share, and the width of their tails when all are digits of one length. */
export function idCoding(ids: readonly string[]): IdCoding {
  if (ids.length === 0) return ['', 0];
  let prefix = ids[0]!;
  for (const id of ids) {
    let n = 0;
    const max = Math.min(prefix.length, id.length);
    while (n < max && prefix.charCodeAt(n) === id.charCodeAt(n)) n += 1;
    prefix = prefix.slice(0, n);
  }
  const width = ids[0]!.length - prefix.length;
  const sameDigits = width > 0 && ids.every((id) => id.length === prefix.length + width && DIGITS.test(id.slice(prefix.length)));
  return [prefix, sameDigits ? width : 0];
}

/**
 * Whether an id can be written under a coding made from other ids (its tail decodes back to it):
 * so a group that gains ids keeps its coding, and the tails already written, while they fit.
 */
export function fitsCoding([prefix, width]: IdCoding, id: string): boolean {
  if (!id.startsWith(prefix)) return false;
  return width === 0 || (id.length === prefix.length + width && DIGITS.test(id.slice(prefix.length)));
}

/** An id's tail under a coding made from a group it belongs to. */
export function encodeId([prefix, width]: IdCoding, id: string): IdTail {
  const rest = id.slice(prefix.length);
  return width > 0 || PLAIN_INTEGER.test(rest) ? Number(rest) : rest;
}

export function decodeId([prefix, width]: IdCoding, tail: IdTail): string {
  return prefix + (typeof tail === 'number' ? String(tail).padStart(width, '0') : tail);
}

/**
 * A coding for a group that will gain ids (a span or chunk saved again with each batch, its coding
 * kept while new ids fit it): as idCoding, but the tails keep at least `minWidth` digits where the
 * prefix ends in digits, so the next ids of a run still fit ("SHP-16-0000234" for ids 2341 to
 * 2349 would refuse 2350; "SHP-16-00002" takes up to 2399). Tails as short as idCoding's would
 * lose a character or none per id and need a new coding, and every id written again, every few ids.
 */
export function roomyCoding(ids: readonly string[], minWidth = 2): IdCoding {
  let [prefix, width] = idCoding(ids);
  // Digit tails of one width, or a single id (its tail empty): digits can move from the prefix.
  if (width === 0 && !ids.every((id) => id.length === prefix.length)) return [prefix, width];
  while (width < minWidth && prefix.length > 0 && isDigit(prefix.charCodeAt(prefix.length - 1))) {
    prefix = prefix.slice(0, -1);
    width += 1;
  }
  return [prefix, width];
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;

