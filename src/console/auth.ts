/**
 * Bearer-token check for every API call. The comparison takes the same time whatever the guess:
 * both sides are hashed to equal-length digests first, so neither the length nor a common prefix
 * of the real token leaks through response times.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

export function createTokenCheck(token: string): (authorization: string | undefined) => boolean {
  const expected = digest(token);
  return (authorization) => {
    const match = /^Bearer (.+)$/.exec(authorization ?? '');
    // Hash even a missing header, so a request without one costs the same as a wrong one.
    const given = digest(match?.[1] ?? '');
    return timingSafeEqual(given, expected) && match !== null;
  };
}
