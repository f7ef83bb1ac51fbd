/**
 * The outbox under Kafka transactions (outbox.ts, committed-offsets.ts): each entry is handed to a
 * transaction once, tagged with the offset it commits; it is dropped once the group's committed
 * offset has reached that, and re-sent (re-tagged) by any later transaction until then.
 */
import { describe, expect, it } from 'vitest';
import type { Alert } from '../../src/domain/events.ts';
import { CommittedOffsets, offsetMetadata } from '../../src/pipeline/committed-offsets.ts';
import { Outbox, type SentIn } from '../../src/pipeline/outbox.ts';
import { alert } from '../helpers/alerts.ts';

const a = (alertId: string, revision = 1) => ({ ...alert({ alertId }), revision }) as unknown as Alert;
const txn = (id: string, offset: string, partition = 0): SentIn => ({ txn: id, topic: 'r.shipments.v1', partition, offset });

/** The outbox as another instance would load it from what this one saved. */
function reloaded(outbox: Outbox): Outbox {
  const copy = new Outbox();
  for (const [part, text] of outbox.drainChanges()) if (text !== null) copy.restorePart(part, text);
  return copy;
}

describe('outbox entries handed to transactions', () => {
  it('hands each entry to a transaction once, and again to the next transaction until one commits', () => {
    const outbox = new Outbox();
    outbox.add(a('A1'));
    outbox.add(a('A2'));
    expect(outbox.handOut(txn('t1', '10')).map((x) => x.alertId)).toEqual(['A1', 'A2']);
    // A timer pass in the same transaction finds nothing more to send.
    expect(outbox.handOut(txn('t1', '10'))).toEqual([]);
    // t1 aborted (nothing committed): the redelivered batch's transaction sends both again.
    const committed = new CommittedOffsets();
    committed.reset([{ topic: 'r.shipments.v1', partition: 0, offset: '7' }]);
    outbox.removeCommitted(committed.covers);
    expect(outbox.handOut(txn('t2', '10')).map((x) => x.alertId)).toEqual(['A1', 'A2']);
  });

  it('drops the entries whose transaction committed, as read back after a restart', () => {
    const committed = new CommittedOffsets();
    committed.reset([{ topic: 'r.shipments.v1', partition: 0, offset: '5' }]);
    const outbox = new Outbox();
    outbox.add(a('A1'));
    outbox.handOut(txn('t1', '10'));
    committed.note('r.shipments.v1', 0, '10');
    // The next batch's run: t1 has committed, so A1 is gone before anything is handed out.
    outbox.removeCommitted(committed.covers);
    outbox.add(a('A2'));
    expect(outbox.handOut(txn('t2', '15')).map((x) => x.alertId)).toEqual(['A2']);
    // A crash between t2's save and its commit: another instance loads the outbox and reads the
    // group's offset, which t2 never moved.
    const restored = reloaded(outbox);
    committed.reset([{ topic: 'r.shipments.v1', partition: 0, offset: '10' }]);
    restored.removeCommitted(committed.covers);
    expect(restored.handOut(txn('t3', '15')).map((x) => x.alertId)).toEqual(['A2']);
    committed.note('r.shipments.v1', 0, '15');
    restored.removeCommitted(committed.covers);
    expect(restored.size).toBe(0);
  });

  it('keeps an entry when nothing is known of its partition', () => {
    const outbox = new Outbox();
    outbox.add(a('A1'));
    outbox.handOut(txn('t1', '10', 2));
    outbox.removeCommitted(new CommittedOffsets().covers);
    expect(outbox.size).toBe(1);
  });

  it('sends a new revision of an alert already sent, even in the same transaction', () => {
    const outbox = new Outbox();
    outbox.add(a('A1', 1));
    expect(outbox.handOut(txn('t1', '10')).map((x) => x.revision)).toEqual([1]);
    outbox.add(a('A1', 2));
    expect(outbox.handOut(txn('t1', '10')).map((x) => x.revision)).toEqual([2]);
  });

  it('reads an outbox saved before entries were tagged as never sent', () => {
    const legacy = new Outbox();
    legacy.restorePart('', JSON.stringify([a('A1')]));
    expect(legacy.handOut(txn('t1', '10')).map((x) => x.alertId)).toEqual(['A1']);
  });

  it('counts an idle partition\'s timer-only transaction, at an unchanged offset, by its seq', () => {
    const committed = new CommittedOffsets();
    committed.reset([
      { topic: 'r.shipments.v1', partition: 0, offset: '10', metadata: offsetMetadata(2) ?? null },
      { topic: 'r.receipts.v1', partition: 0, offset: '-1' },
    ]);
    // The next timer pass commits shipments/0 at 10 again, with seq 3.
    const position = committed.timerPosition(0)!;
    expect(position).toEqual({ topic: 'r.shipments.v1', partition: 0, offset: '10', seq: 3 });
    const outbox = new Outbox();
    outbox.add(a('A1'));
    outbox.handOut({ ...position, txn: 't1' });
    // Not committed yet (or aborted: a crash), although the offset is already there.
    outbox.removeCommitted(committed.covers);
    expect(outbox.size).toBe(1);
    committed.note(position.topic, 0, position.offset, position.seq);
    outbox.removeCommitted(committed.covers);
    expect(outbox.size).toBe(0);
    // A later batch moves the offset on; its position (seq 0) is past any seq at the old offset.
    committed.note('r.shipments.v1', 0, '12');
    expect(committed.covers({ txn: 't0', topic: 'r.shipments.v1', partition: 0, offset: '10', seq: 9 })).toBe(true);
    // Nothing committed on an index: no timer-only transaction there.
    expect(committed.timerPosition(1)).toBeUndefined();
  });
});
