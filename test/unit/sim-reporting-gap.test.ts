/**
 * The simulator and reporting-gap together, through the pure rule harness (the pipeline does not
 * run stateful rules yet): clean producers, which report every working day through weekends and
 * holidays, never go quiet for long enough; a silenced producer is found under its label, with its
 * last report before the silence as the subject.
 */
import { describe, expect, it } from 'vitest';
import type { Report, ReportKind } from '../../src/domain/events.ts';
import { reportingGapParams } from '../../src/rules/reporting-cadence.ts';
import { reportingGap } from '../../src/rules/reporting-gap.ts';
import { custodyGapInjector } from '../../src/sim/anomalies/custody-gap.ts';
import { reportingGapInjector } from '../../src/sim/anomalies/reporting-gap.ts';
import { simulate } from '../../src/sim/simulate.ts';
import type { SimResult } from '../../src/sim/types.ts';
import { ruleHarness } from '../helpers/rule-harness.ts';

/** Reports in recording order; the watermark trails the newest occurredAt by the 72 h grace period. */
function findings(run: SimResult) {
  const harness = ruleHarness(reportingGap, () => reportingGapParams.parse({}), { allowedLatenessMs: 72 * 3_600_000 });
  for (const line of run.records) {
    if (!('reportId' in line.value)) continue;
    harness.feed([{ kind: line.topic.split('.')[1] as ReportKind, event: line.value } as Report]);
  }
  return harness.drafts;
}

describe('simulator x reporting-gap', () => {
  it('clean traffic over Spring Festival and golden week raises nothing', () => {
    const winter = simulate({ seed: 5, producers: 50, days: 75, start: '2026-01-26T00:00:00Z', anomalies: false });
    const autumn = simulate({ seed: 6, producers: 50, days: 45, start: '2025-09-15T00:00:00Z', anomalies: false });
    expect(findings(winter).map((d) => d.summary)).toEqual([]);
    expect(findings(autumn).map((d) => d.summary)).toEqual([]);
  }, 30_000);

  it('finds every silenced producer under its label and nothing else', () => {
    const run = simulate({ seed: 21, producers: 60, days: 90, anomalyRate: 0.03 });
    const labels = run.labels.filter((l) => l.ruleId === 'reporting-gap');
    expect(labels.length).toBeGreaterThanOrEqual(3);
    expect(new Set(labels.map((l) => l.anomalyId.split('-').at(-1)))).toEqual(new Set(['stops', 'pauses']));
    const drafts = findings(run);
    const key = (producerId: string, subject: string) => `${producerId} ${subject}`;
    expect(drafts.map((d) => key(d.producerId, d.subjectEventIds[0]!)).sort()).toEqual(labels.map((l) => key(l.producerId, l.subjectEventIds[0]!)).sort());
  }, 30_000);

  it('a silenced producer files nothing while silent, not even the receipt of a transfer another anomaly sends it, and is found once per silence', () => {
    // Custody anomalies are transfers to a seller's regular buyers: with many of them, some buyers are silenced magnet makers.
    const run = simulate({ seed: 3, producers: 40, days: 80, injectors: [reportingGapInjector, custodyGapInjector], anomalyRate: 0.05 });
    const labels = run.labels.filter((l) => l.ruleId === 'reporting-gap');
    expect(labels.length).toBeGreaterThanOrEqual(3);
    const reports = run.records.flatMap((line) => ('reportId' in line.value && 'occurredAt' in line.value ? [line.value as { reportId: string; producerId: string; occurredAt: number }] : []));
    for (const label of labels) {
      const own = reports.filter((r) => r.producerId === label.producerId);
      const last = own.find((r) => r.reportId === label.subjectEventIds[0])!;
      const next = Math.min(...own.filter((r) => r.occurredAt > last.occurredAt).map((r) => r.occurredAt));
      // A pause lasts 28-42 days from the day after its last report.
      expect((next - last.occurredAt) / 86_400_000, label.anomalyId).toBeGreaterThan(27);
    }
    // A pause that runs on into a new silence is one silence: labelled once, found once.
    expect(new Set(labels.map((l) => l.subjectEventIds[0])).size).toBe(labels.length);
    expect(findings(run).map((d) => `${d.producerId} ${d.subjectEventIds[0]}`).sort()).toEqual(labels.map((l) => `${l.producerId} ${l.subjectEventIds[0]}`).sort());
  }, 30_000);
});
