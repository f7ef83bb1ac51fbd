import { describe, expect, it } from 'vitest';
import { effectiveTimeOf, inEffectiveOrder, licenceVersionAt } from '../../src/domain/licence-versions.ts';
import { D0, at, licence } from '../helpers/builders.ts';

const issued = licence();
const suspended = licence({ status: 'SUSPENDED', effectiveAt: at(D0 + 3, 0) });
const reinstated = licence({ status: 'ACTIVE', effectiveAt: at(D0 + 5, 0) });
const revoked = licence({ status: 'REVOKED', effectiveAt: at(D0 + 9, 0) });
const all = [revoked, reinstated, issued, suspended];

describe('licence versions', () => {
  it('take effect at effectiveAt, or at issuedAt when it is absent', () => {
    expect(effectiveTimeOf(issued)).toBe(issued.issuedAt);
    expect(effectiveTimeOf(licence({ effectiveAt: null }))).toBe(issued.issuedAt);
    expect(effectiveTimeOf(suspended)).toBe(at(D0 + 3, 0));
  });

  it('are ordered oldest effective first, whatever order they came in', () => {
    expect(inEffectiveOrder(all)).toEqual([issued, suspended, reinstated, revoked]);
  });

  it.each([
    ['just after issue', at(D0, 12), issued],
    ['just before the suspension', at(D0 + 3, 0) - 1, issued],
    ['at the suspension', at(D0 + 3, 0), suspended],
    ['while suspended', at(D0 + 4, 12), suspended],
    ['after reinstatement', at(D0 + 5, 1), reinstated],
    ['after revocation', at(D0 + 30, 0), revoked],
  ])('the one in effect %s', (_when, time, expected) => {
    expect(licenceVersionAt(all, time)).toEqual(expected);
  });

  it('before every version held, are the licence as issued: active if only a later change survived', () => {
    expect(licenceVersionAt([suspended], at(D0, 12))).toEqual({ ...suspended, status: 'ACTIVE', effectiveAt: suspended.issuedAt });
    const issuedSuspended = licence({ status: 'SUSPENDED' });
    expect(licenceVersionAt([issuedSuspended], issuedSuspended.issuedAt - 1)).toEqual(issuedSuspended);
  });

  it('are none for a licence with no version', () => {
    expect(licenceVersionAt([], at(D0))).toBeNull();
  });
});
