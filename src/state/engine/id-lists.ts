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

/** An id's tail under a coding made from a group it belongs to. */
export function encodeId([prefix, width]: IdCoding, id: string): IdTail {
  const rest = id.slice(prefix.length);
  return width > 0 || PLAIN_INTEGER.test(rest) ? Number(rest) : rest;
}

export function decodeId([prefix, width]: IdCoding, tail: IdTail): string {
  return prefix + (typeof tail === 'number' ? String(tail).padStart(width, '0') : tail);
}

/**
 * For a group of ids of several kinds (a producer's reports: "RCP-16-…", "PRD-16-…", "SHP-16-…"),
 * whose common prefix is nothing: one coding per family of ids (the id without its trailing
 * digits), and for each id the index of its family's coding.
 */
export function familyCodings(ids: readonly string[]): { codings: IdCoding[]; indexOf: Map<string, number> } {
  const families = new Map<string, string[]>();
  for (const id of ids) {
    const family = id.replace(/[0-9]+$/, '');
    const members = families.get(family);
    if (members) members.push(id);
    else families.set(family, [id]);
  }
  const codings: IdCoding[] = [];
  const indexOf = new Map<string, number>();
  for (const members of families.values()) {
    for (const id of members) indexOf.set(id, codings.length);
    codings.push(idCoding(members));
  }
  return { codings, indexOf };
}
