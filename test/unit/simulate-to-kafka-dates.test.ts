/**
 * simulate --to-kafka refuses a run whose reports the live detector would dead-letter as reported
 * after it read them (record-envelope.ts): the simulator files a day's reports up to 46 h later.
 */
import { describe, expect, it } from 'vitest';
import { refuseFutureReports } from '../../src/cli/simulate.ts';

const NOW = Date.UTC(2026, 11, 2, 16, 30);
const day = (iso: string) => Date.parse(`${iso}T00:00:00Z`);

describe('simulate --to-kafka and the date of its last reports', () => {
  it('takes a run that ends a day or more before today', () => {
    expect(() => refuseFutureReports(day('2025-06-02'), 30, NOW)).not.toThrow();
    // Ends 2026-12-01T00:00, its last reports by 2026-12-02T22:00: within a day of now.
    expect(() => refuseFutureReports(day('2026-11-01'), 30, NOW)).not.toThrow();
  });

  it('refuses one that runs later, naming the latest start that fits', () => {
    expect(() => refuseFutureReports(day('2026-11-02'), 30, NOW)).toThrow(
      "--to-kafka: this run's reports go up to 2026-12-04, and the live detector dead-letters a report filed more than a day after it reads it; start by 2026-11-01 for 30 days, or write it with --out and replay it",
    );
    expect(() => refuseFutureReports(day('2027-01-01'), 1, NOW)).toThrow(/start by 2026-11-30 for 1 days/);
  });
});
