/**
 * The one finding both publishing paths make, found by both at the same moment on two instances
 * (README, "Exactly-once output"; pipeline.ts claimContested): a detector's watchlist path screens
 * a listing and claims its watchlist-match, and a report transaction on another instance finds the
 * same match in a shipment before that watchlist transaction has committed. Neither has committed,
 * so neither journal tells the other anything; the claim must. The detector is a real process on
 * the test stack, held between its claim and its send by a hook (delay-watchlist-send.mjs); the
 * other instance's report path is a pipeline over the same Redis namespace, reading the journals
 * and offsets as the detector's would (other-path-holds.ts).
 */
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_TOPIC_KINDS, topicNames, topicSpecs } from '../../src/config/topics.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { createOtherPathHolds } from '../../src/consumers/other-path-holds.ts';
import { createRedisTxnJournal } from '../../src/consumers/txn-journal.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert, Report, WatchlistEntry } from '../../src/domain/events.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { D0, at, reports } from '../helpers/builders.ts';
import { caughtUp } from '../helpers/consumed.ts';
import { killHard, startDetectorProcess, stopGently, type DetectorProcess } from '../helpers/detector-process.ts';
import { committedAlerts, seenTwice } from '../helpers/eos-alerts.ts';
import { deleteKeysWithPrefix, redisUrl } from '../helpers/redis-state.ts';
import { deleteTopics, testKafka, uniqueName, waitUntil } from '../helpers/stack-env.ts';

const HOOK = join(import.meta.dirname, '..', 'helpers', 'delay-watchlist-send.mjs');
/** How long the detector's watchlist transaction holds its claim before sending. */
const HELD_MS = 3_000;

const kafka = testKafka('ree-wl-claims');
const redis = new Redis(redisUrl());
const prefixes: string[] = [];
const running = new Set<DetectorProcess>();

afterAll(async () => {
  for (const d of running) await killHard(d);
  const admin = kafka.admin();
  await admin.connect();
  await deleteTopics(admin, prefixes.flatMap((p) => Object.values(topicNames(p))));
  await admin.disconnect();
  for (const p of prefixes) await deleteKeysWithPrefix(redis, p);
  redis.disconnect();
});

const CLIENT = 'Wexford Rare Metals Trading Ltd';
const exportTo = (reportId: string, day: number): Report =>
  reports.shipments({ producerId: 'P-RACE', reportId, clientId: 'C-RACE', clientName: CLIENT, clientCountry: 'HK', destinationCountry: 'HK', occurredAt: at(D0 + day) });
const matches = (alerts: readonly Alert[]) => alerts.filter((a) => a.ruleId === 'watchlist-match');

describe('a watchlist-match found by both paths at once, on two instances', () => {
  it("the report transaction waits while the detector's watchlist transaction holds its claim, and leaves the alert to it: published once", async () => {
    const prefix = uniqueName('ree-wl-claims');
    prefixes.push(prefix);
    const topics = topicNames(prefix);
    const admin = kafka.admin();
    await admin.connect();
    await ensureTopics(admin, topicSpecs(prefix, { partitions: 1 }));

    // The other instance's report path, in the detector's Redis namespace (its --state-prefix).
    const store = createEngineRedisStore({ redis, prefix, keepConnectionOpen: true });
    // What the report path's claims found: it must have been refused while the detector held it.
    const outcomes: string[] = [];
    const claimAlerts = store.claimAlerts.bind(store);
    store.claimAlerts = async (alerts, claimant) => {
      const found = await claimAlerts(alerts, claimant);
      outcomes.push(...found);
      return found;
    };
    const watchlistGroup = `${prefix}-g.watchlist`;
    const journals = {
      reports: createRedisTxnJournal({ redis, prefix, kind: 'reports', groupId: `${prefix}-g` }),
      watchlist: createRedisTxnJournal({ redis, prefix, kind: 'watchlist', groupId: watchlistGroup }),
    };
    const holds = createOtherPathHolds({
      admin,
      journals,
      topics: { reports: REPORT_TOPIC_KINDS.map((k) => topics[k]), watchlist: topics.watchlist },
      watchlistGroupId: watchlistGroup,
    });
    await holds.refresh();
    // As run.ts wires it: past 500 ms of waiting the report path asks whether the claim's
    // transaction is still held in the detector's journal; live, it is, so the wait goes on.
    const reportPath = createPipeline({
      store,
      rules: loadRulesFile(),
      catalogue: loadCatalogue(),
      heldByOtherPath: holds.heldByOtherPath,
      contestedWaitMs: 30_000,
      claimStillHeld: async (holder) => holder.partition !== undefined && (await journals.watchlist.held(holder.partition)).has(holder.txn),
    });
    const origins = [{ source: 'p0', partition: 0 }];
    const sending = (txn: string, seq?: number) => ({ txn, topic: topics.shipments, partition: 0, offset: '1', ...(seq === undefined ? {} : { seq }) });

    // The producer's first export to the client, before any listing: the client is seen.
    expect(matches(await reportPath.process([exportTo('ship-1', 1)], origins, sending('txn-r0')))).toEqual([]);

    const detector = startDetectorProcess(prefix, {
      sessionTimeoutMs: 6_000,
      partitions: 1,
      nodeArgs: ['--import', HOOK],
      env: { REE_TEST_DELAY_SEND_TO: topics.alerts, REE_TEST_DELAY_MS: String(HELD_MS) },
    });
    running.add(detector);
    const entry: WatchlistEntry = { entryId: 'W-RACE', name: CLIENT, aliases: [], country: 'HK', reason: 'diversion of controlled rare earths', listedAt: at(D0 + 2) };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: topics.watchlist, messages: [{ key: entry.entryId, value: JSON.stringify(entry) }] });
    await producer.disconnect();

    // The watchlist path has screened the listing and claimed its finding; its send is held.
    await waitUntil(async () => (await redis.keys(`${prefix}:{alert:*}:claim:*`)).length > 0, { timeoutMs: 60_000, intervalMs: 20, what: "the watchlist path's claim" });
    // A shipment to the listed client, on the other instance, in the claim's window.
    const found = await reportPath.process([exportTo('ship-2', 3)], origins, sending('txn-r1'));
    expect(matches(found)).toEqual([]);
    // It waited (refused while the claim was held), then found the alert published.
    expect(outcomes[0]).toBe('other-path');
    expect(outcomes.at(-1)).toBe('published');
    // Nor does a later transaction of the index send it from the producer's outbox.
    expect(matches(await reportPath.fireTimers([0], sending('txn-r2', 1)))).toEqual([]);

    await waitUntil(() => caughtUp(admin, watchlistGroup, [topics.watchlist]), { timeoutMs: 60_000, intervalMs: 250, what: 'the listing committed' });
    await stopGently(detector);
    running.delete(detector);
    await admin.disconnect();
    await store.close();

    // The report path here produces nothing: what its transaction would have sent is `found`.
    const live = await committedAlerts(kafka, prefix);
    expect(seenTwice(live)).toEqual([]);
    const published = matches(live);
    expect(published.map((a) => [a.producerId, a.clientId, a.subjectEventIds])).toEqual([['P-RACE', 'C-RACE', ['ship-1']]]);
    // Published and let go: no claim is left behind.
    expect(await redis.keys(`${prefix}:{alert:*}:claim:*`)).toEqual([]);
  }, 180_000);
});
