import { describe, expect, it } from 'vitest';
import { alertCount, formatAlert } from '../../src/cli/demo.ts';
import type { Alert } from '../../src/domain/events.ts';

const deficit: Alert = {
  alertId: 'a-1',
  ruleId: 'volume-mismatch',
  ruleVersion: 1,
  severity: 'HIGH',
  score: 0.42,
  producerId: 'P-0031',
  clientId: null,
  licenceId: null,
  subjectEventIds: ['r-1', 'r-2'],
  summary: 'P-0031 shipped or consumed 2.5 t more DY_OXIDE than it had available by 2025-06-18 (book balance -2.5 t).',
  evidence: {
    check: 'deficit',
    material: 'DY_OXIDE',
    periodStart: '2025-06-12',
    periodEnd: '2025-06-18',
    openingStockKg: '1200',
    producedKg: '4300',
    receivedKg: '0',
    consumedKg: '0',
    shippedKg: '8000',
    balanceKg: '-2500',
    deficitKg: '2500',
    toleranceKg: '27.5',
    graceHours: '72',
  },
  eventTime: Date.UTC(2025, 5, 18, 23, 59, 59, 999),
  detectedAt: 0,
  windowStart: null,
  windowEnd: null,
};

describe('demo alert format', () => {
  it('shows every evidence entry, the numbers behind the finding included', () => {
    const text = formatAlert(deficit);
    for (const [key, value] of Object.entries(deficit.evidence)) expect(text).toContain(`${key}=${value}`);
  });

  it('keeps evidence lines within 100 columns, indented under the alert', () => {
    const evidence = formatAlert(deficit).split('\n').filter((l) => l.includes('='));
    expect(evidence.length).toBeGreaterThan(1);
    for (const line of evidence) {
      expect(line.length).toBeLessThanOrEqual(100);
      expect(line).toMatch(/^ {9}\S/);
    }
  });

  it('shows the revision of an alert that grew, and none for a first publication', () => {
    expect(formatAlert(deficit).split('\n')[0]).not.toContain('revision');
    expect(formatAlert({ ...deficit, revision: 1 }).split('\n')[0]).not.toContain('revision');
    expect(formatAlert({ ...deficit, revision: 3 }).split('\n')[0]).toMatch(/score 0\.42 {2}revision 3$/);
  });

  it('counts alerts by id, naming the earlier revisions apart', () => {
    expect(alertCount(32, 32)).toBe('32 alerts');
    expect(alertCount(40, 32)).toBe('32 alerts (40 published, 8 of them earlier revisions)');
  });

  it('writes no colour codes when the output is not a terminal', () => {
    expect(formatAlert(deficit)).not.toContain('\u001b[');
  });
});
