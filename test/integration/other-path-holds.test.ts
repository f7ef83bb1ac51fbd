/**
 * What each path's transactions hold, as the other path reads it before publishing a
 * watchlist-match (src/consumers/other-path-holds.ts): the two groups' journals in Redis, over the
 * partitions the topics have on the broker (including one added later); a watchlist transaction
 * counts once the watchlist group's committed offset names it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs } from '../../src/config/topics.ts';
import { createOtherPathHolds } from '../../src/consumers/other-path-holds.ts';
import { createRedisTxnJournal } from '../../src/consumers/txn-journal.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { createReferenceTransactions } from '../../src/producers/reference-transactions.ts';
import { deleteKeysWithPrefix, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';
import { sampleAlert } from '../helpers/sample-events.ts';
import { deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

const testRedis = useTestRedis();
const kafka = testKafka('ree-other-path-holds');
const admin = kafka.admin();
const topicPrefix = uniqueName('ree-holds');
const statePrefix = uniquePrefix('holds');
const topics = topicNames(topicPrefix);
const WATCHLIST_GROUP = `${topicPrefix}-g.watchlist`;

beforeAll(async () => {
  await admin.connect();
  await ensureTopics(admin, topicSpecs(topicPrefix, { partitions: 3 }));
});

afterAll(async () => {
  await deleteTopics(admin, Object.values(topics));
  await admin.disconnect();
  await deleteKeysWithPrefix(testRedis(), statePrefix);
});

const alertOf = (alertId: string, revision?: number) => ({ ...sampleAlert, ruleId: 'watchlist-match', alertId, ...(revision ? { revision } : {}) });

function holds(now?: () => number) {
  const journals = {
    reports: createRedisTxnJournal({ redis: testRedis(), prefix: statePrefix, kind: 'reports', groupId: 'g' }),
    watchlist: createRedisTxnJournal({ redis: testRedis(), prefix: statePrefix, kind: 'watchlist', groupId: 'g.watchlist' }),
  };
  const reader = createOtherPathHolds({ admin, journals, topics: { reports: REPORT_TOPIC_KINDS.map((k) => topics[k]), watchlist: topics.watchlist }, watchlistGroupId: WATCHLIST_GROUP, now });
  return { journals, reader };
}

/** Commits offset 0 of the watchlist partition in a transaction named `txn`, as the watchlist consumer does. */
async function commitWatchlist(partition: number, txn: string): Promise<void> {
  const transactions = createReferenceTransactions({ kafka, admin, groupId: WATCHLIST_GROUP, topic: topics.watchlist });
  try {
    await transactions.assign([partition]);
    await transactions.commit(partition, '0', txn, async () => undefined);
  } finally {
    await transactions.close();
  }
}

describe("the other path's journals, read before publishing", () => {
  it("gives the watchlist path what every report transaction holds, and the report path what committed watchlist transactions hold, the highest revision of each alert", async () => {
    const { journals, reader } = holds();
    await reader.refresh();
    await journals.reports.hold(2, 'r-1', [alertOf('A1', 2), alertOf('A2')]);
    await journals.reports.hold(0, 'r-2', [alertOf('A1', 3)]);
    await journals.watchlist.hold(1, 'w-1', [alertOf('W1')]);
    await journals.watchlist.hold(2, 'w-2', [alertOf('W2')]);
    expect(await reader.heldByOtherPath('watchlist')).toEqual(new Map([['A1', 3], ['A2', 1]]));
    // Held but not committed (still open, or never to commit): a watchlist change has no outbox to
    // send it again, so the report path does not leave it to that transaction.
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map());
    await commitWatchlist(1, 'w-1');
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map([['W1', 1]]));
    await journals.watchlist.release(2, 'w-2');
    // Released once marked (or found never committed): nothing held any more.
    await Promise.all([journals.reports.release(2, 'r-1'), journals.reports.release(0, 'r-2'), journals.watchlist.release(1, 'w-1')]);
    expect(await reader.heldByOtherPath('watchlist')).toEqual(new Map());
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map());
  });

  it('reads a partition added to the watchlist topic (no report-group rebalance) once the partitions it knows are a minute old', async () => {
    let clock = 0;
    const { journals, reader } = holds(() => clock);
    await reader.refresh();
    await admin.createPartitions({ topicPartitions: [{ topic: topics.watchlist, count: 4 }] });
    await journals.watchlist.hold(3, 'w-3', [alertOf('W9')]);
    await commitWatchlist(3, 'w-3');
    clock = 59_000;
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map());
    // Older than a minute: this read still has the old partitions and re-reads them behind it.
    clock = 61_000;
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map());
    await waitUntil(async () => (await reader.heldByOtherPath('reports')).size > 0, { timeoutMs: 10_000, intervalMs: 50, what: 'the added partition read' });
    expect(await reader.heldByOtherPath('reports')).toEqual(new Map([['W9', 1]]));
    await journals.watchlist.release(3, 'w-3');
  });
});
