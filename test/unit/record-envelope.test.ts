/**
 * What a report's record says about it (record-envelope.ts), live (decodeReportBatch): a report
 * under another producer's key or none, or reported after it was read, is dead-lettered.
 */
import { describe, expect, it } from 'vitest';
import { decodeReportBatch } from '../../src/consumers/handle-batch.ts';
import type { Report } from '../../src/domain/events.ts';
import { shipment } from '../helpers/builders.ts';

const decoder = {
  decodeReports: async (_kind: string, values: (Buffer | null)[]) => values.map((v) => ({ ok: true, value: { kind: 'shipments', event: JSON.parse(v!.toString()) } as Report })),
};

describe('a live report batch', () => {
  it("dead-letters a report whose record key is another producer's or that has no key, and keeps its own", async () => {
    const report = shipment({ producerId: 'P1' });
    const value = Buffer.from(JSON.stringify(report));
    const outcomes = await decodeReportBatch({ decoder: decoder as never }, {
      kind: 'shipments',
      topic: 'ree.shipments.v1',
      partition: 0,
      records: [
        { key: Buffer.from('P1'), value, offset: '0' },
        { key: Buffer.from('P2'), value, offset: '1' },
        { key: null, value, offset: '2' },
      ],
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false]);
    const [, otherKey, noKey] = outcomes;
    if (otherKey!.ok || noKey!.ok) throw new Error('expected refusals');
    expect(otherKey!.error.code).toBe('REE_ERR_VALIDATION');
    expect(otherKey!.error.message).toBe('record key "P2" is not the report\'s producerId "P1": report topics are keyed by producerId');
    expect(noKey!.error.code).toBe('REE_ERR_VALIDATION');
    expect(noKey!.error.message).toBe('record has no key: report topics are keyed by producerId, so send it under the key "P1"');
  });

  it('dead-letters a report reported more than a day after it was read (a mistyped year), whatever its record time; keeps one within the skew', async () => {
    const readAt = Date.UTC(2025, 5, 2, 12);
    const ok = shipment({ producerId: 'P1', occurredAt: readAt - 3_600_000, reportedAt: readAt + 20 * 3_600_000 });
    const typo = shipment({ producerId: 'P1', occurredAt: Date.UTC(2099, 5, 1, 8), reportedAt: Date.UTC(2099, 5, 1, 12) });
    const stampedWithOccurredAt = shipment({ producerId: 'P1', occurredAt: readAt - 5 * 86_400_000, reportedAt: readAt - 86_400_000 });
    const outcomes = await decodeReportBatch({ decoder: decoder as never, now: () => readAt }, {
      kind: 'shipments',
      topic: 'ree.shipments.v1',
      partition: 0,
      records: [
        { key: Buffer.from('P1'), value: Buffer.from(JSON.stringify(ok)), offset: '0', timestamp: String(readAt - 86_400_000) },
        { key: Buffer.from('P1'), value: Buffer.from(JSON.stringify(typo)), offset: '1', timestamp: String(Date.UTC(2099, 5, 1, 12)) },
        { key: Buffer.from('P1'), value: Buffer.from(JSON.stringify(stampedWithOccurredAt)), offset: '2', timestamp: String(stampedWithOccurredAt.occurredAt) },
      ],
    });
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const refused = outcomes[1]!;
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.error.message).toBe('reportedAt: later than the moment it was read by more than a day of clock skew (2099-06-01T12:00:00.000Z > 2025-06-02T12:00:00.000Z): a report describes the past');
  });
});
