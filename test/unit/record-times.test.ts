/**
 * Record times and retention: a backlog produced today with last year's report times keeps those
 * times as record times (never in the future) and lands on report topics that time retention does
 * not empty on arrival; `record` orders what it reads by the reports' own times, not record times.
 */
import { describe, expect, it } from 'vitest';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs } from '../../src/config/topics.ts';
import { knownAtOf } from '../../src/pipeline/recording.ts';
import { recordTime } from '../../src/producers/recording-writer.ts';

const line = (timestamp?: number) => ({ topic: 'ree.shipments.v1', key: 'P1', value: {}, timestamp });
const NOW = Date.UTC(2026, 10, 30);

describe('record times of written lines', () => {
  it("are the line's own time", () => {
    expect(recordTime(line(Date.UTC(2025, 5, 2, 9)), NOW)).toBe(String(Date.UTC(2025, 5, 2, 9)));
  });

  it('are never ahead of the clock', () => {
    expect(recordTime(line(NOW + 86_400_000), NOW)).toBe(String(NOW));
  });

  it("are left to the producer when the line has none", () => {
    expect(recordTime(line(undefined), NOW)).toBeUndefined();
    expect(recordTime(line(0), NOW)).toBeUndefined();
  });
});

describe('topics run creates', () => {
  const specs = new Map(topicSpecs('ree').map((s) => [s.topic, s.configEntries]));
  const names = topicNames('ree');

  it('keep report records whatever their record time', () => {
    for (const kind of REPORT_TOPIC_KINDS) expect(specs.get(names[kind])).toEqual([{ name: 'retention.ms', value: '-1' }]);
  });

  it('compact the reference data and leave the outputs to the broker defaults', () => {
    expect(specs.get(names.licences)).toEqual([{ name: 'cleanup.policy', value: 'compact' }]);
    expect(specs.get(names.alerts)).toEqual([]);
  });
});

describe('when a recorded record became known', () => {
  const stampedNow = NOW;
  it("is a report's reportedAt, not its record time", () => {
    expect(knownAtOf({ topic: 'acme.shipments.v1', timestamp: stampedNow, value: { reportedAt: 1_750_000_000_000 } })).toBe(1_750_000_000_000);
    expect(knownAtOf({ topic: 'ree.production.v1', timestamp: stampedNow, value: { reportedAt: '2025-06-02T12:00:00Z' } })).toBe(Date.UTC(2025, 5, 2, 12));
  });

  it("is a licence version's effectiveAt, or its issuedAt", () => {
    expect(knownAtOf({ topic: 'ree.licences.v1', timestamp: stampedNow, value: { issuedAt: 5, effectiveAt: 9 } })).toBe(9);
    expect(knownAtOf({ topic: 'ree.licences.v1', timestamp: stampedNow, value: { issuedAt: 5, effectiveAt: null } })).toBe(5);
  });

  it("is the licence's issuedAt for the first record the topic holds of it, whatever its version (compaction kept it in place of the issuance)", () => {
    expect(knownAtOf({ topic: 'ree.licences.v1', timestamp: stampedNow, value: { issuedAt: 5, effectiveAt: 9, status: 'REVOKED' } }, true)).toBe(5);
    expect(knownAtOf({ topic: 'ree.licences.v1', timestamp: stampedNow, value: null }, true)).toBe(stampedNow);
  });

  it('falls back to the record time for a record with no time of its own', () => {
    expect(knownAtOf({ topic: 'ree.licences.v1', timestamp: stampedNow, value: null })).toBe(stampedNow);
    expect(knownAtOf({ topic: 'ree.shipments.v1', timestamp: stampedNow, value: 'not json at all' })).toBe(stampedNow);
  });
});
