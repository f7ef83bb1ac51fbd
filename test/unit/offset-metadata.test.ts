/**
 * The metadata a transaction commits its offsets with (committed-offsets.ts): a timer pass's seq
 * and the transaction's id, read back by the next owner to tell which transaction an offset came
 * from. Forms written before both were carried (`ree-seq:<n>` alone, the watchlist's
 * `ree-txn:<id>` alone) still read the same.
 */
import { describe, expect, it } from 'vitest';
import { CommittedOffsets, offsetMetadata, seqOf, txnOf } from '../../src/pipeline/committed-offsets.ts';

describe('offset metadata', () => {
  it('carries the seq and the transaction id together, and each reads back', () => {
    const metadata = offsetMetadata(3, 'T-1');
    expect(seqOf(metadata)).toBe(3);
    expect(txnOf(metadata)).toBe('T-1');
  });

  it('leaves seq 0 out, and is empty with neither', () => {
    expect(offsetMetadata(0, 'T-2')).toBe('ree-txn:T-2');
    expect(offsetMetadata(0)).toBeUndefined();
    expect(seqOf('ree-txn:T-2')).toBe(0);
  });

  it('reads the older single forms, and nothing from another writer\'s text', () => {
    expect(seqOf('ree-seq:2')).toBe(2);
    expect(txnOf('ree-seq:2')).toBeUndefined();
    expect(txnOf('ree-txn:abc')).toBe('abc');
    expect(seqOf('someone else')).toBe(0);
    expect(txnOf(null)).toBeUndefined();
  });
});

describe('which transaction committed an index', () => {
  it('is the one any of its topic-partitions was last committed by, read on assignment or noted since', () => {
    const committed = new CommittedOffsets();
    committed.reset([
      { topic: 'shipments', partition: 0, offset: '10', metadata: offsetMetadata(0, 'A') ?? null },
      { topic: 'production', partition: 0, offset: '4', metadata: offsetMetadata(1, 'B') ?? null },
      { topic: 'shipments', partition: 1, offset: '7', metadata: offsetMetadata(0, 'C') ?? null },
    ]);
    expect(committed.named(0, 'A')).toBe(true);
    expect(committed.named(0, 'B')).toBe(true);
    expect(committed.named(0, 'C')).toBe(false);
    committed.note('shipments', 0, '12', 0, 'D');
    expect(committed.named(0, 'D')).toBe(true);
    expect(committed.named(0, 'A')).toBe(false);
  });
});
