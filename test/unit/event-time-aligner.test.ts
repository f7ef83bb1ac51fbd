import { describe, expect, it } from 'vitest';
import { EventTimeAligner, alignedPrefixLength } from '../../src/consumers/event-time-aligner.ts';

const H = 3_600_000;
const topics = ['production', 'shipments', 'receipts', 'inventory'];
const make = () => new EventTimeAligner(topics, { slackMs: 6 * H, maxHoldMs: 5_000 });

/** All siblings seen and caught up to `ts`, with `lag` records waiting. */
function seenAll(a: EventTimeAligner, except: string, ts: number, lag = 0) {
  for (const t of topics) if (t !== except) a.observe(t, 0, ts, lag);
}

describe('EventTimeAligner', () => {
  it('holds a batch while a sibling partition has not been seen, for at most maxHoldMs', () => {
    const a = make();
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true);
    expect(a.shouldHold('shipments', 0, 100 * H, 4_999)).toBe(true);
    // An empty sibling must not stall the stream forever.
    expect(a.shouldHold('shipments', 0, 100 * H, 5_000)).toBe(false);
  });

  it('waits out the patience for an unseen sibling once, not again after every batch', () => {
    const a = make();
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true);
    expect(a.shouldHold('shipments', 0, 100 * H, 5_000)).toBe(false);
    a.observe('shipments', 0, 100 * H, 50);
    // The next batch goes at once: the siblings are still unseen, but they were waited for already.
    expect(a.shouldHold('shipments', 0, 101 * H, 6_000)).toBe(false);
    a.observe('shipments', 0, 101 * H, 40);
    expect(a.shouldHold('shipments', 0, 102 * H, 6_001)).toBe(false);
  });

  it('shares the patience among the siblings waiting for the same unseen topic-partition', () => {
    const a = make();
    a.markIdle('inventory', 0);
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true); // production and receipts unseen
    a.observe('receipts', 0, 90 * H, 0);
    // Receipts arrives 4 s later and still waits for production, but only for the second that is left.
    expect(a.shouldHold('receipts', 0, 91 * H, 4_000)).toBe(true);
    expect(a.shouldHold('receipts', 0, 91 * H, 5_000)).toBe(false);
  });

  it('waits for a sibling by its records again once it shows up after the patience ran out', () => {
    const a = make();
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true);
    expect(a.shouldHold('shipments', 0, 100 * H, 5_000)).toBe(false);
    a.observe('shipments', 0, 100 * H, 50);
    seenAll(a, 'shipments', 10 * H, 5);
    expect(a.shouldHold('shipments', 0, 101 * H, 60_000)).toBe(true);
  });

  it('holds a batch that is more than the slack ahead of a sibling with records waiting', () => {
    const a = make();
    seenAll(a, 'shipments', 10 * H, 5);
    expect(a.shouldHold('shipments', 0, 16 * H, 0)).toBe(false); // exactly at the slack
    expect(a.shouldHold('shipments', 0, 16 * H + 1, 0)).toBe(true); // just past it
  });

  it('does not hold for a sibling that has nothing waiting, however far behind its time', () => {
    const a = make();
    seenAll(a, 'shipments', 10 * H, 0);
    expect(a.shouldHold('shipments', 0, 1000 * H, 0)).toBe(false);
  });

  it('lets the batch go once the sibling has caught up', () => {
    const a = make();
    seenAll(a, 'shipments', 10 * H, 5);
    expect(a.shouldHold('shipments', 0, 40 * H, 0)).toBe(true);
    a.observe('production', 0, 38 * H, 2);
    a.observe('receipts', 0, 38 * H, 2);
    a.observe('inventory', 0, 38 * H, 0);
    expect(a.shouldHold('shipments', 0, 40 * H, 10)).toBe(false);
  });

  it('keeps partition indexes apart', () => {
    const a = make();
    seenAll(a, 'shipments', 10 * H, 5);
    expect(a.shouldHold('shipments', 1, 11 * H, 0)).toBe(true); // partition 1 siblings unseen
    a.held('production', 3, 10 * H, 0);
    // Production 3 waits on its own partition index's siblings, not on partition 0's.
    expect(a.releasable('shipments', 0, 0)).toEqual([]);
  });
});

describe('EventTimeAligner.releasable', () => {
  it('names the held and cut siblings whose next record is within their limit now, and no others', () => {
    const a = make();
    a.observe('production', 0, 10 * H, 5);
    a.cut('production', 0, 20 * H);
    a.observe('receipts', 0, 11 * H, 5);
    a.held('shipments', 0, 40 * H, 0);
    a.observe('inventory', 0, 12 * H, 5);
    a.cut('inventory', 0, 13 * H);
    // Production goes on at 20 h, beyond the slowest sibling (receipts, 11 h) plus 6 h; inventory at 13 h may go.
    expect(a.releasable('receipts', 0, 0)).toEqual([{ topic: 'inventory', partitions: [0] }]);
    a.observe('receipts', 0, 30 * H, 5);
    a.observe('inventory', 0, 30 * H, 5);
    expect(a.releasable('receipts', 0, 0)).toEqual([{ topic: 'production', partitions: [0] }]);
  });

  it('lets the earlier of two siblings cut beyond each other go, rather than both waiting', () => {
    const a = make();
    a.markIdle('receipts', 0);
    a.markIdle('inventory', 0);
    a.observe('production', 0, 10 * H, 5);
    a.cut('production', 0, 30 * H);
    a.observe('shipments', 0, 12 * H, 5);
    a.cut('shipments', 0, 40 * H);
    expect(a.releasable('shipments', 0, 0)).toEqual([{ topic: 'production', partitions: [0] }]);
    expect(a.releasable('production', 0, 0)).toEqual([]);
  });

  it('names nothing while a sibling is awaited that has never been seen', () => {
    const a = make();
    a.held('shipments', 0, 10 * H, 0);
    a.observe('production', 0, 10 * H, 5);
    expect(a.releasable('production', 0, 1_000)).toEqual([]);
  });
});

describe('EventTimeAligner.limit', () => {
  it('is the slowest waiting sibling plus the slack, so a long batch is cut where it would run ahead', () => {
    const a = make();
    a.observe('production', 0, 10 * H, 3);
    a.observe('receipts', 0, 20 * H, 3);
    a.observe('inventory', 0, 5 * H, 0); // nothing waiting: does not count
    expect(a.limit('shipments', 0, 0)).toBe(16 * H);
  });
});

describe('EventTimeAligner when every sibling is held', () => {
  it('lets the topic-partition with the earliest waiting record go first', () => {
    const a = make();
    // First fetch: each topic's batch arrives while its siblings are unseen, so each is held.
    expect(a.shouldHold('shipments', 0, 50 * H, 0)).toBe(true);
    expect(a.shouldHold('production', 0, 10 * H, 0)).toBe(true);
    expect(a.shouldHold('receipts', 0, 30 * H, 0)).toBe(true);
    // The last to arrive sees what the others wait with: it is within the slack of the earliest.
    expect(a.shouldHold('inventory', 0, 12 * H, 0)).toBe(false);
    a.observe('inventory', 0, 14 * H, 3);
    // On retry production, holding the earliest record, goes; shipments still waits.
    expect(a.shouldHold('production', 0, 10 * H, 10)).toBe(false);
    expect(a.shouldHold('shipments', 0, 50 * H, 10)).toBe(true);
  });
});

describe('alignedPrefixLength', () => {
  it('takes records up to the first one beyond the limit, even when later ones are within it', () => {
    expect(alignedPrefixLength([1, 2, 9, 3, 4], 5)).toBe(2);
    expect(alignedPrefixLength([1, 5, 5], 5)).toBe(3);
    expect(alignedPrefixLength([6, 1], 5)).toBe(0);
    expect(alignedPrefixLength([], 5)).toBe(0);
    expect(alignedPrefixLength([1, 2], Infinity)).toBe(2);
    expect(alignedPrefixLength([1, 2], -Infinity)).toBe(0);
  });
});

describe('EventTimeAligner: siblings believed caught up', () => {
  /** Every sibling empty at the join, at offset 0. */
  function emptyAtJoin(a: EventTimeAligner) {
    for (const t of topics) a.markIdle(t, 0, '0');
  }

  it('asks for the end of a sibling a batch would run more than the slack ahead of, and of no other', () => {
    const a = make();
    emptyAtJoin(a);
    a.observe('production', 0, 100 * H, 0, '40');
    a.observe('receipts', 0, 99 * H, 0, '7');
    // Inventory was empty at the join; production and receipts are read to their ends, within the slack.
    expect(a.trustsCaughtUp('shipments', 0)).toBe(true);
    expect(a.unconfirmed('shipments', 0, 104 * H)).toEqual([{ topic: 'inventory', partition: 0, next: '0' }]);
    expect(a.unconfirmed('shipments', 0, 105.5 * H)).toEqual([
      { topic: 'receipts', partition: 0, next: '7' },
      { topic: 'inventory', partition: 0, next: '0' },
    ]);
  });

  it("holds the batch once a sibling's end shows records written since, until that sibling is read", () => {
    const a = make();
    emptyAtJoin(a);
    // A burst: shipments fetched first, production's part of it already written.
    expect(a.limit('shipments', 0, 0)).toBe(Infinity);
    a.confirmEnd('production', 0, '0', '500', 0);
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true);
    a.observe('production', 0, 100 * H, 0, '500');
    expect(a.releasable('production', 0, 0)).toEqual([{ topic: 'shipments', partitions: [0] }]);
  });

  it('lets the batch go when the end shows nothing new, and ignores an end read for a position the sibling has left', () => {
    const a = make();
    emptyAtJoin(a);
    a.confirmEnd('production', 0, '0', '0', 0);
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(false);
    // Production read on to 500 while the look was out: the look's answer for 0 says nothing now.
    a.observe('production', 0, 100 * H, 0, '500');
    a.confirmEnd('production', 0, '0', '500', 0);
    expect(a.shouldHold('shipments', 0, 101 * H, 0)).toBe(false);
  });

  it('waits for records an end read found at most maxHoldMs, and not again for the same ones (they may be transaction markers)', () => {
    const a = make();
    emptyAtJoin(a);
    a.confirmEnd('production', 0, '0', '1', 1_000);
    expect(a.shouldHold('shipments', 0, 100 * H, 5_999)).toBe(true);
    expect(a.shouldHold('shipments', 0, 100 * H, 6_000)).toBe(false);
    expect(a.unconfirmed('shipments', 0, 200 * H).map((u) => u.topic)).toEqual(['receipts', 'inventory']);
  });

  it('counts a read past transaction markers alone (no batch of reports) as what the end read found', () => {
    const a = make();
    emptyAtJoin(a);
    a.confirmEnd('production', 0, '0', '1', 0);
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(true);
    a.passed('production', 0, '1');
    expect(a.shouldHold('shipments', 0, 100 * H, 0)).toBe(false);
    expect(a.unconfirmed('shipments', 0, 100 * H)).toContainEqual({ topic: 'production', partition: 0, next: '1' });
  });

  it('trusts nothing of siblings with records waiting or held: they limit the batch already', () => {
    const a = make();
    a.observe('production', 0, 100 * H, 5, '10');
    a.observe('receipts', 0, 100 * H, 3, '10');
    a.held('inventory', 0, 90 * H, 0);
    expect(a.trustsCaughtUp('shipments', 0)).toBe(false);
    expect(a.unconfirmed('shipments', 0, 1_000 * H)).toEqual([]);
  });
});
