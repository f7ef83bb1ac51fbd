/**
 * reporting-gap on its hand-built recording (test/fixtures/reporting-gap-cases.jsonl): monthly filers between the 1st and the 10th (a 40-day gap is ordinary), one
 * that misses two filings, a mine that stops, a mine shut for Spring Festival 2026, a producer too
 * new to judge. Through the pure rule harness in file order, the watermark 72 h behind the newest
 * report: until the pipeline runs stateful rules, this is where the cases are checked.
 *
 * A recording of its own, not lines appended to real-world-cases.jsonl: each case there ends when
 * its story does, and lines dated after it would rightly make every one of those producers a
 * silence.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Label } from '../../src/backtest/score.ts';
import type { ReportKind } from '../../src/domain/events.ts';
import { validateReport } from '../../src/domain/validate.ts';
import { topicKindOf } from '../../src/pipeline/recording.ts';
import { reportingGapParams } from '../../src/rules/reporting-cadence.ts';
import { reportingGap } from '../../src/rules/reporting-gap.ts';
import { ruleHarness } from '../helpers/rule-harness.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const jsonLines = (name: string) =>
  readFileSync(new URL(name, FIXTURES), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const REPORT_KINDS = new Set(['production', 'shipments', 'receipts', 'inventory']);

describe('reporting-gap: hand-built cases', () => {
  it('finds the missed filings and the stopped mine, and nothing else', () => {
    const harness = ruleHarness(reportingGap, () => reportingGapParams.parse({}), { allowedLatenessMs: 72 * 3_600_000 });
    for (const line of jsonLines('reporting-gap-cases.jsonl')) {
      const kind = topicKindOf(line['topic'] as string);
      if (kind && REPORT_KINDS.has(kind)) harness.feed([validateReport(kind as ReportKind, line['value'])]);
    }
    const labels = (jsonLines('reporting-gap-cases.labels.jsonl') as unknown as Label[]).filter((l) => l.ruleId === 'reporting-gap');
    expect(labels).toHaveLength(2);
    const found = harness.drafts.map((d) => ({ producerId: d.producerId, subject: d.subjectEventIds[0] }));
    expect(found).toEqual(labels.map((l) => ({ producerId: l.producerId, subject: l.subjectEventIds[0] })));
    const [monthly, mine] = harness.drafts;
    expect(monthly!.evidence).toMatchObject({ lastReportAt: '2026-02-06T10:00:00.000Z', allowedGapDays: '45', allowedBy: 'cap' });
    expect(mine!.evidence).toMatchObject({ lastReportAt: '2026-04-25T10:00:00.000Z', allowedGapDays: '21', allowedBy: 'floor' });
  });
});
