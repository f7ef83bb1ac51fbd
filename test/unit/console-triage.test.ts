import { describe, expect, it } from 'vitest';
import { applyTriage, initialStatus, triageRequestSchema, type AlertStatus } from '../../src/console/alert-status.ts';
import { createTokenCheck } from '../../src/console/auth.ts';
import { loadConsoleSettings } from '../../src/console/settings.ts';
import { reconcileStatus } from '../../src/console/status-log.ts';

describe('triage', () => {
  it('moves NEW → ACKNOWLEDGED → a verdict, keeping who did what and when', () => {
    let s = initialStatus('a-1');
    s = applyTriage(s, { action: 'acknowledge', by: 'ana' }, 100, 'c1');
    s = applyTriage(s, { action: 'assign', by: 'ana', assignee: 'bo' }, 200, 'c2');
    s = applyTriage(s, { action: 'close', by: 'bo', verdict: 'FALSE_POSITIVE', note: '  licence was late  ' }, 300, 'c3');
    expect(s).toMatchObject({ alertId: 'a-1', status: 'FALSE_POSITIVE', assignee: 'bo' });
    expect(s.changes.map((c) => [c.at, c.by, c.action, c.status, c.note])).toEqual([
      [100, 'ana', 'acknowledge', 'ACKNOWLEDGED', null],
      [200, 'ana', 'assign', 'ACKNOWLEDGED', null],
      [300, 'bo', 'close', 'FALSE_POSITIVE', 'licence was late'],
    ]);
    expect(applyTriage(s, { action: 'reopen', by: 'bo' }, 400, 'c4').status).toBe('ACKNOWLEDGED');
  });

  it('assigning a NEW alert acknowledges it', () => {
    expect(applyTriage(initialStatus('a'), { action: 'assign', by: 'ana', assignee: 'bo' }, 1, 'c').status).toBe('ACKNOWLEDGED');
  });

  it('refuses a request without its fields, with extra fields, or an unknown action', () => {
    const ok = (body: unknown) => triageRequestSchema.safeParse(body).success;
    expect(ok({ action: 'close', by: 'ana', verdict: 'CONFIRMED' })).toBe(true);
    expect(ok({ action: 'close', by: 'ana' })).toBe(false);
    expect(ok({ action: 'close', by: 'ana', verdict: 'MAYBE' })).toBe(false);
    expect(ok({ action: 'assign', by: 'ana' })).toBe(false);
    expect(ok({ action: 'acknowledge', by: '   ' })).toBe(false);
    expect(ok({ action: 'acknowledge', by: 'ana', status: 'CONFIRMED' })).toBe(false);
    expect(ok({ action: 'delete', by: 'ana' })).toBe(false);
    expect(ok('close')).toBe(false);
  });

  describe('a status record read back from the topic, compared by change ids', () => {
    const one = applyTriage(initialStatus('a'), { action: 'acknowledge', by: 'ana' }, 1, 'c1');
    const two = applyTriage(one, { action: 'close', by: 'ana', verdict: 'CONFIRMED' }, 2, 'c2');
    // Built on `one` by another console at the same moment as `two`: same length, other change.
    const bobs = applyTriage(one, { action: 'assign', by: 'bo', assignee: 'bo' }, 3, 'b2');
    const ids = (s: AlertStatus) => s.changes.map((c) => c.changeId);
    it.each([
      ['an older record (its own echo, delayed) is ignored', one, two, undefined],
      ['the same record (its own echo) changes nothing', two, two, undefined],
      ['a record extending what it holds replaces it', two, one, ['c1', 'c2']],
    ] as const)('%s', (_what, incoming, current, expected) => {
      const held = reconcileStatus(incoming, current);
      expect(held && ids(held)).toEqual(expected);
    });

    it('two changes built on the same history are merged, not one dropped, in the same order whichever arrives first', () => {
      for (const [incoming, current] of [[bobs, two], [two, bobs]] as const) {
        const merged = reconcileStatus(incoming, current)!;
        expect(ids(merged)).toEqual(['c1', 'c2', 'b2']);
        // alice's verdict stands and bob's assignment too.
        expect(merged).toMatchObject({ status: 'CONFIRMED', assignee: 'bo' });
      }
    });
  });
});

describe('console token', () => {
  const check = createTokenCheck('s3cret-s3cret-s3cret');
  it('accepts exactly the bearer token', () => {
    expect(check('Bearer s3cret-s3cret-s3cret')).toBe(true);
    expect(check('Bearer s3cret-s3cret-s3creT')).toBe(false);
    expect(check('Bearer s3cret')).toBe(false);
    expect(check('s3cret-s3cret-s3cret')).toBe(false);
    expect(check('Bearer ')).toBe(false);
    expect(check(undefined)).toBe(false);
  });

  it('the console refuses to start without a token, or with a short one, naming the variable', () => {
    expect(() => loadConsoleSettings({})).toThrow(/REE_CONSOLE_TOKEN is not set/);
    expect(() => loadConsoleSettings({ REE_CONSOLE_TOKEN: 'short' })).toThrow(/REE_CONSOLE_TOKEN = \(hidden\): at least 16 characters/);
    expect(() => loadConsoleSettings({ REE_CONSOLE_TOKEN: 'x'.repeat(16), REE_CONSOLE_PORT: 'eighty' })).toThrow(/REE_CONSOLE_PORT \(--port\)/);
    expect(loadConsoleSettings({ REE_CONSOLE_TOKEN: 'x'.repeat(16) })).toEqual({ port: 8088, host: '127.0.0.1', token: 'x'.repeat(16) });
  });
});
