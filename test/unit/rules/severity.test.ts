import { describe, expect, it } from 'vitest';
import type { Severity } from '../../../src/domain/events.ts';
import { parseRulesFile } from '../../../src/config/rules-file.ts';
import { clampScore, severityBands, severityFor } from '../../../src/rules/severity.ts';

const DEFAULT_BANDS = severityBands.parse({});

describe('severity bands', () => {
  it('default to MEDIUM 0.3, HIGH 0.6, CRITICAL 0.85', () => {
    expect(DEFAULT_BANDS).toEqual({ MEDIUM: 0.3, HIGH: 0.6, CRITICAL: 0.85 });
  });

  it.each<[number, Severity]>([
    [0, 'LOW'],
    [0.299, 'LOW'],
    [0.3, 'MEDIUM'],
    [0.301, 'MEDIUM'],
    [0.599, 'MEDIUM'],
    [0.6, 'HIGH'],
    [0.601, 'HIGH'],
    [0.849, 'HIGH'],
    [0.85, 'CRITICAL'],
    [0.851, 'CRITICAL'],
    [1, 'CRITICAL'],
  ])('score %f is %s', (score, severity) => {
    expect(severityFor(score, DEFAULT_BANDS)).toBe(severity);
  });

  it.each<[number, Severity]>([
    [0.099, 'LOW'],
    [0.1, 'MEDIUM'],
    [0.299, 'MEDIUM'],
    [0.3, 'HIGH'],
    [0.599, 'HIGH'],
    [0.6, 'CRITICAL'],
  ])("volume-mismatch's own bands: score %f is %s", (score, severity) => {
    const bands = parseRulesFile('').get('volume-mismatch')!.bands;
    expect(severityFor(score, bands)).toBe(severity);
  });

  it('rates everything at or over a band that equals the next one as the higher severity', () => {
    const collapsed = severityBands.parse({ MEDIUM: 0.5, HIGH: 0.5, CRITICAL: 0.5 });
    expect(severityFor(0.499, collapsed)).toBe('LOW');
    expect(severityFor(0.5, collapsed)).toBe('CRITICAL');
  });

  it.each([
    ['bands that fall', { MEDIUM: 0.7, HIGH: 0.6 }],
    ['a band below 0', { MEDIUM: -0.1 }],
    ['a band above 1', { CRITICAL: 1.1 }],
    ['a band given as text', { HIGH: 'high' }],
  ])('rejects %s', (_, raw) => {
    expect(severityBands.safeParse(raw).success).toBe(false);
  });
});

describe('severity floor', () => {
  it.each<[number, Severity | undefined, Severity]>([
    [0.1, undefined, 'LOW'],
    [0.1, 'HIGH', 'HIGH'],
    [0.7, 'HIGH', 'HIGH'],
    [0.9, 'HIGH', 'CRITICAL'],
    [0.1, 'LOW', 'LOW'],
  ])('score %f with floor %s is %s: the floor raises, never lowers', (score, floor, severity) => {
    expect(severityFor(score, DEFAULT_BANDS, floor)).toBe(severity);
  });
});

describe('clampScore', () => {
  it.each([
    [-0.5, 0],
    [0, 0],
    [0.42, 0.42],
    [1, 1],
    [7, 1],
    // A score that cannot be computed is treated as the strongest, so it is looked at, not buried.
    [Number.POSITIVE_INFINITY, 1],
    [Number.NaN, 1],
  ])('%f becomes %f', (raw, clamped) => {
    expect(clampScore(raw)).toBe(clamped);
  });
});
