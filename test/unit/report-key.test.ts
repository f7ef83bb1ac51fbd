/**
 * Report topics are keyed by producerId (DESIGN.md, "Topics"): a report under another producer's
 * key is dead-lettered live (decodeReportBatch), as a replay does with the recording's key.
 */
import { describe, expect, it } from 'vitest';
import { decodeReportBatch } from '../../src/consumers/handle-batch.ts';
import type { Report } from '../../src/domain/events.ts';
import { shipment } from '../helpers/builders.ts';

const decoder = {
  decodeReports: async (_kind: string, values: (Buffer | null)[]) => values.map((v) => ({ ok: true, value: { kind: 'shipments', event: JSON.parse(v!.toString()) } as Report })),
};

describe('a live report batch', () => {
  it("dead-letters a report whose record key is another producer's, and keeps its own and a keyless one", async () => {
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
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true]);
    const refused = outcomes[1]!;
    if (refused.ok) throw new Error('expected a refusal');
    expect(refused.error.code).toBe('REE_ERR_VALIDATION');
    expect(refused.error.message).toBe('record key "P2" is not the report\'s producerId "P1": report topics are keyed by producerId');
  });
});
