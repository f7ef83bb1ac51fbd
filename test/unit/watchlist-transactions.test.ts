/**
 * The watchlist consumer with transactional output, over a fake Kafka whose producers keep what a
 * committed transaction sent and commit its offset (with the metadata) as the broker would: a
 * batch's alerts go out in the transaction that commits its offset, and are marked published
 * after; on assignment, the alerts a journal holds for the transaction the offset names are marked
 * (a crash came between that commit and the marks) and every held transaction is released; and
 * records below the offset read after fencing are not applied again.
 */
import type { Kafka } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { createWatchlistConsumer } from '../../src/consumers/watchlist-consumer.ts';
import { createMemoryTxnJournal } from '../../src/consumers/txn-journal.ts';
import type { Alert, WatchlistEntry } from '../../src/domain/events.ts';
import { ReeError } from '../../src/errors.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import { txnOf } from '../../src/pipeline/committed-offsets.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { D0, at, reports, testCatalogue } from '../helpers/builders.ts';
import { FAKE_EVENTS, fakeKafka } from '../helpers/fake-kafka.ts';

const entry = (o: Partial<WatchlistEntry> = {}): WatchlistEntry => ({
  entryId: 'W-1',
  name: 'Zhang Weihong Trading Co., Ltd.',
  aliases: [],
  country: 'HK',
  reason: 'test',
  listedAt: at(D0),
  ...o,
});
const json = (e: WatchlistEntry) => ({ key: e.entryId, value: JSON.stringify(e) });

async function started(committed: { partition: number; offset: string; metadata?: string }[] = [], behaviour: { failCommits?: number; /** The failing commits went through before their answer was lost. */ failedCommitsWentThrough?: boolean } = {}) {
  const fake = fakeKafka({ committed: { watchlist: committed } });
  let failCommits = behaviour.failCommits ?? 0;
  /** How many transactions the journal held when each transaction sent its alerts. */
  const heldAtSend: number[] = [];
  /** Alerts of committed transactions only, as a read_committed reader sees them. */
  const published: Alert[] = [];
  const transactionalIds: string[] = [];
  const producer = (options: { transactionalId: string }) => {
    transactionalIds.push(options.transactionalId);
    return {
      connect: async () => undefined,
      disconnect: async () => undefined,
      transaction: async () => {
        const sent: Alert[] = [];
        let offsets: { partition: number; offset: string; metadata?: string }[] = [];
        let active = true;
        return {
          send: async (record: { messages: { value: string }[] }) => {
            heldAtSend.push((await journal.held(0)).size);
            sent.push(...record.messages.map((m) => JSON.parse(m.value) as Alert));
          },
          sendOffsets: async (o: { topics: { partitions: typeof offsets }[] }) => void (offsets = o.topics.flatMap((t) => t.partitions)),
          commit: async () => {
            active = false;
            const apply = () => {
              published.push(...sent);
              const kept = (fake.offsets.committed!['watchlist'] ?? []).filter((c) => !offsets.some((o) => o.partition === c.partition));
              fake.offsets.committed!['watchlist'] = [...kept, ...offsets];
            };
            if (failCommits > 0) {
              failCommits -= 1;
              if (behaviour.failedCommitsWentThrough) apply();
              throw Object.assign(new Error('the broker went away mid-commit'), { retriable: true });
            }
            apply();
          },
          abort: async () => void (active = false),
          isActive: () => active,
        };
      },
    };
  };
  const store = createEngineMemoryStore();
  const released: { alerts: number; txn: string | undefined }[] = [];
  const releaseClaims = store.releaseClaims.bind(store);
  store.releaseClaims = async (alerts, claimant) => {
    released.push({ alerts: alerts.length, txn: claimant?.txn });
    await releaseClaims(alerts, claimant);
  };
  const pipeline = createPipeline({ store, rules: loadRulesFile(), catalogue: testCatalogue(), now: () => 0 });
  const journal = createMemoryTxnJournal();
  const consumer = createWatchlistConsumer({
    kafka: { ...fake.kafka, producer } as unknown as Kafka,
    admin: fake.admin,
    groupId: 'g.watchlist',
    topic: 'watchlist',
    decoder: createDecoder(),
    pipeline,
    alerts: { publish: async () => expect.fail('a transactional batch publishes through its transaction') },
    deadLetters: { send: async () => undefined },
    logger: createLogger('silent'),
    transactional: {
      journal,
      sinks: (sender) => ({
        alerts: { publish: async (alerts) => void (await sender.send({ topic: 'alerts', messages: alerts.map((a) => ({ value: JSON.stringify(a) })) })) },
        deadLetters: { send: async () => undefined },
      }),
    },
  });
  await consumer.start();
  const shipment = reports.shipments({ reportId: 'ship-1', clientId: 'C7', clientName: 'Cheung Wai Hung Ltd', material: 'NDFEB_MAGNET', licenceId: null });
  expect(await pipeline.process([shipment])).toEqual([]);
  return { fake, store, pipeline, journal, published, transactionalIds, heldAtSend, released };
}

describe('watchlist consumer, transactional', () => {
  it('commits a batch\'s alerts with its offset in one transaction of the partition\'s producer, then marks them', async () => {
    const { fake, journal, published, transactionalIds } = await started();
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry())]);
    expect(resolved).toEqual(['0']);
    expect(transactionalIds).toEqual(['g.watchlist.0']);
    expect(published.map((a) => [a.ruleId, a.clientId])).toEqual([['watchlist-match', 'C7']]);
    const [committed] = fake.offsets.committed!['watchlist']!;
    expect(committed!.offset).toBe('1');
    expect(txnOf(committed!.metadata)).toBeDefined();
    expect((await journal.held(0)).size).toBe(0);
    // Listed again: the same finding, already marked.
    await fake.deliver('watchlist', 0, [json(entry({ reason: 'listed again' }))], { firstOffset: 1 });
    expect(published).toHaveLength(1);
  });

  it('on assignment, marks what the journal holds for the transaction the offset names, and releases every held one', async () => {
    const { fake, journal, published, pipeline } = await started([{ partition: 0, offset: '1', metadata: 'ree-txn:T-committed' }]);
    // What a detector that crashed between its commit and its marks left: the alert went out.
    const [alert] = await pipeline.applyWatchlist([{ entryId: 'W-1', entry: entry() }]);
    await journal.hold(0, 'T-committed', [alert!]);
    await journal.hold(0, 'T-aborted', [{ ...alert!, alertId: 'never-sent' }]);
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    await fake.deliver('watchlist', 0, [json(entry({ reason: 'listed again' }))], { firstOffset: 1 });
    expect(published).toEqual([]);
    expect((await journal.held(0)).size).toBe(0);
    expect(await pipeline.applyWatchlist([{ entryId: 'W-1', entry: entry() }])).toEqual([]);
  });

  it('without the journal\'s entry, the same crash would publish the finding again (the check above is not vacuous)', async () => {
    const { fake, published } = await started([{ partition: 0, offset: '1', metadata: 'ree-txn:T-committed' }]);
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    await fake.deliver('watchlist', 0, [json(entry({ reason: 'listed again' }))], { firstOffset: 1 });
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
  });

  it('leaves to the report path a watchlist-match that path has claimed: sends none of it and holds none of it', async () => {
    const { fake, journal, published, pipeline, store } = await started();
    const [alert] = await pipeline.applyWatchlist([{ entryId: 'W-1', entry: entry() }]);
    // A report transaction on another instance found the same shipment's match a moment before.
    expect(await store.claimAlerts([alert!.alertId], { path: 'reports', txn: 'T-report' })).toEqual(['claimed']);
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry({ reason: 'listed again' }))]);
    expect(resolved).toEqual(['0']);
    expect(published).toEqual([]);
    expect(fake.offsets.committed!['watchlist']!.map((c) => c.offset)).toEqual(['1']);
    expect((await journal.held(0)).size).toBe(0);
    // Still the report path's to send: nothing marked it published.
    expect(await store.claimAlerts([alert!.alertId], { path: 'watchlist', txn: 'T-later' })).toEqual(['other-path']);
  });

  it('a transaction that did not commit lets go of its claims and its hold at once; the retry claims, sends and marks the finding once', async () => {
    const { fake, journal, published, store, heldAtSend, released } = await started([], { failCommits: 1 });
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry())]);
    expect(resolved).toEqual(['0']);
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
    // The failed attempt's own claim was released by its txn; the retry's was released once marked.
    expect(released).toHaveLength(2);
    expect(released[0]!.txn).toBeDefined();
    expect(released[1]!.txn).toBeUndefined();
    // The retry's transaction sent with only its own hold in the journal, and none is left.
    expect(heldAtSend).toEqual([1, 1]);
    expect((await journal.held(0)).size).toBe(0);
    expect(await store.unpublishedAlerts(published.map((a) => a.alertId))).toEqual([]);
  });

  /** The settling's read of the group's offsets fails once, after the first attempt has sent. */
  function offsetsUnreadableOnce(fake: Awaited<ReturnType<typeof started>>['fake'], sentYet: () => boolean): () => number {
    const fetchOffsets = fake.admin.fetchOffsets.bind(fake.admin);
    let unreadable = 1;
    fake.admin.fetchOffsets = (async (...args: Parameters<typeof fetchOffsets>) => {
      if (unreadable > 0 && sentYet()) {
        unreadable -= 1;
        throw Object.assign(new Error('Connection error: connect ECONNREFUSED'), { retriable: true });
      }
      return fetchOffsets(...args);
    }) as typeof fake.admin.fetchOffsets;
    return () => unreadable;
  }

  it("a commit whose outcome stays unknown (its settling could not read the offsets), that had not gone through: the batch fails, and fetched again is settled first, then sent once", async () => {
    const { fake, journal, published, released, heldAtSend } = await started([], { failCommits: 1 });
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    const left = offsetsUnreadableOnce(fake, () => heldAtSend.length > 0);
    // Not retried in place: the attempt's hold and claims stay, as its outcome is unknown.
    await expect(fake.deliver('watchlist', 0, [json(entry())])).rejects.toThrow(/ECONNREFUSED/);
    expect(left()).toBe(0);
    expect((await journal.held(0)).size).toBe(1);
    // kafkajs fetches the batch again: settled first (not committed: its claims let go), then sent.
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry())]);
    expect(resolved).toEqual(['0']);
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
    expect(released.map((r) => r.txn === undefined)).toEqual([false, true]);
    expect((await journal.held(0)).size).toBe(0);
  });

  it('a commit whose outcome stays unknown, that had gone through: the batch fetched again finds it committed, marks what it sent, and sends nothing more', async () => {
    const { fake, journal, published, store, heldAtSend } = await started([], { failCommits: 1, failedCommitsWentThrough: true });
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    offsetsUnreadableOnce(fake, () => heldAtSend.length > 0);
    await expect(fake.deliver('watchlist', 0, [json(entry())])).rejects.toThrow(/ECONNREFUSED/);
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry())]);
    expect(resolved).toEqual(['0']);
    // Retried in place (as before), the batch would have sent the alert a second time.
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
    expect(heldAtSend).toHaveLength(1);
    expect(await store.unpublishedAlerts(published.map((a) => a.alertId))).toEqual([]);
    expect((await journal.held(0)).size).toBe(0);
  });

  it('a settling that fails part-way (the journal unreadable) leaves the partition unsettled: the next delivery settles it again, and the alert goes out once', async () => {
    const { fake, journal, published, heldAtSend } = await started([], { failCommits: 1, failedCommitsWentThrough: true });
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    offsetsUnreadableOnce(fake, () => heldAtSend.length > 0);
    await expect(fake.deliver('watchlist', 0, [json(entry())])).rejects.toThrow(/ECONNREFUSED/);
    // Delivered again while Redis cannot be read: the offsets are read, the journal is not.
    const held = journal.held.bind(journal);
    let redisAway = true;
    journal.held = async (p) => {
      if (redisAway) throw new ReeError('REE_ERR_STATE', 'Redis away', { retriable: false });
      return held(p);
    };
    await expect(fake.deliver('watchlist', 0, [json(entry())])).rejects.toThrow(/Redis away/);
    redisAway = false;
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry())]);
    expect(resolved).toEqual(['0']);
    expect(published.map((a) => a.clientId)).toEqual(['C7']);
    expect(heldAtSend).toHaveLength(1);
    expect((await held(0)).size).toBe(0);
  });

  it('skips records below the offset the group had committed when the partition was taken', async () => {
    const { fake, published, store } = await started([{ partition: 0, offset: '2', metadata: 'ree-txn:T-earlier-owner' }]);
    fake.emit(FAKE_EVENTS.GROUP_JOIN, { memberAssignment: { watchlist: [0] } });
    const { resolved } = await fake.deliver('watchlist', 0, [json(entry({ entryId: 'W-0' })), json(entry({ entryId: 'W-1', name: 'Nobody At All Company' })), json(entry({ entryId: 'W-2', name: 'Chen Xiaoming' }))]);
    expect(resolved).toEqual(['2']);
    // W-0 (a match) was the earlier owner's to publish; only W-2 is applied here.
    expect((await store.getWatchlist()).map((e) => e.entryId)).toEqual(['W-2']);
    expect(published).toEqual([]);
    expect(fake.offsets.committed!['watchlist']!.map((c) => c.offset)).toEqual(['3']);
  });
});
