/**
 * A licence is a series of versions (issued, suspended, reinstated, revoked...), each in effect
 * from its effectiveAt (absent: issuedAt) until the next one. An export is judged against the
 * version in effect at its occurredAt, so the result is the same whether a revocation record
 * reached the detector before or after the export it postdates. Pure.
 */
import type { Licence } from './events.ts';

/** When this version took effect. */
export function effectiveTimeOf(licence: Licence): number {
  return licence.effectiveAt ?? licence.issuedAt;
}

/** Oldest first; on equal times the later in the list wins (the store keeps one per time anyway). */
export function inEffectiveOrder(versions: readonly Licence[]): Licence[] {
  return versions
    .map((licence, i) => ({ licence, i }))
    .sort((a, b) => effectiveTimeOf(a.licence) - effectiveTimeOf(b.licence) || a.i - b.i)
    .map((v) => v.licence);
}

/**
 * The version in effect at `at`: the latest one that took effect at or before it. Before every
 * version held, the licence as issued: a compacted topic may have dropped the first record and
 * kept only a later suspension or revocation, and until that took effect the licence was active.
 */
export function licenceVersionAt(versions: readonly Licence[], at: number): Licence | null {
  const ordered = inEffectiveOrder(versions);
  const first = ordered[0];
  if (!first) return null;
  let current: Licence | undefined;
  for (const v of ordered) if (effectiveTimeOf(v) <= at) current = v;
  if (current) return current;
  return effectiveTimeOf(first) > first.issuedAt ? { ...first, status: 'ACTIVE', effectiveAt: first.issuedAt } : first;
}
