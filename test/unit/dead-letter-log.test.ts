/**
 * The report path's one log line per batch of dead letters: how many of each error code, besides
 * the first record's offset, code and reason.
 */
import { describe, expect, it } from 'vitest';
import type { DecodeOutcome } from '../../src/codec/decode.ts';
import { handleReportBatches } from '../../src/consumers/handle-batch.ts';
import type { Report } from '../../src/domain/events.ts';
import { InvalidRecordError } from '../../src/errors.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';

describe('the dead-letter log line', () => {
  it('counts the dead letters of a batch per error code', async () => {
    const { logger, lines } = capturingLogger();
    const pipeline = {
      gate: { shared: <T>(work: () => Promise<T>) => work() },
      process: async () => [],
      markPublished: async () => undefined,
      fireTimers: async () => [],
    } as unknown as Pipeline;
    const codes = ['REE_ERR_DECODE', 'REE_ERR_VALIDATION', 'REE_ERR_VALIDATION', 'REE_ERR_DECODE', 'REE_ERR_VALIDATION'] as const;
    const decoded: DecodeOutcome<Report>[] = codes.map((code, i) => ({ ok: false, error: new InvalidRecordError(code, `bad record ${i}`) }));
    const records = codes.map((_, i) => ({ key: null, value: Buffer.from('x'), offset: String(10 + i) }));
    const sent: unknown[] = [];
    await handleReportBatches(
      {
        decoder: undefined as never,
        pipeline,
        alerts: { publish: async () => undefined },
        deadLetters: { send: async (d) => void sent.push(...d) },
        logger,
      },
      [{ batch: { kind: 'shipments', topic: 'ree.shipments.v1', partition: 4, records }, decoded }],
    );
    expect(sent).toHaveLength(5);
    const logged = lines.filter((l) => l.msg === 'records sent to the dead-letter topic');
    expect(logged).toEqual([
      expect.objectContaining({
        level: 40,
        topic: 'ree.shipments.v1',
        partition: 4,
        count: 5,
        codes: { REE_ERR_DECODE: 2, REE_ERR_VALIDATION: 3 },
        firstOffset: '10',
        firstCode: 'REE_ERR_DECODE',
        firstReason: 'bad record 0',
      }),
    ]);
  });
});
