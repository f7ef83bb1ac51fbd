/**
 * The watchlist consumer over a fake Kafka and the in-memory store: each entry ends as its last
 * record in the batch says, bad records are dead-lettered, and a new entry is screened against
 * the clients already seen, its alerts published before the offset moves.
 */
import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { createWatchlistConsumer } from '../../src/consumers/watchlist-consumer.ts';
import type { Alert, WatchlistEntry } from '../../src/domain/events.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import type { DeadLetter } from '../../src/producers/dead-letter-sink.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { D0, at, reports, testCatalogue } from '../helpers/builders.ts';
import { fakeKafka } from '../helpers/fake-kafka.ts';

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

async function started() {
  const fake = fakeKafka();
  const store = createEngineMemoryStore();
  const pipeline = createPipeline({ store, rules: loadRulesFile(), catalogue: testCatalogue(), now: () => 0 });
  const dead: DeadLetter[] = [];
  const published: Alert[] = [];
  const consumer = createWatchlistConsumer({
    kafka: fake.kafka,
    admin: fake.admin,
    groupId: 'g',
    topic: 'watchlist',
    decoder: createDecoder(),
    pipeline,
    alerts: { publish: async (a) => void published.push(...a) },
    deadLetters: { send: async (letters) => void dead.push(...letters) },
    logger: createLogger('silent'),
  });
  await consumer.start();
  return { fake, store, pipeline, dead, published };
}

describe('watchlist consumer', () => {
  it('leaves each entry as its last record in the batch says and dead-letters what it cannot take', async () => {
    const { fake, store, dead } = await started();
    const { resolved } = await fake.deliver('watchlist', 0, [
      json(entry({ entryId: 'W-1', name: 'First Name Co' })),
      json(entry({ entryId: 'W-2' })),
      json(entry({ entryId: 'W-1', name: 'Chen Xiaoming' })),
      { key: 'W-2', value: null },
      { key: 'W-3', value: JSON.stringify(entry({ entryId: 'W-4' })) },
      { key: 'W-5', value: 'not json' },
    ]);
    expect((await store.getWatchlist()).map((e) => [e.entryId, e.name])).toEqual([['W-1', 'Chen Xiaoming']]);
    expect(dead.map((d) => [d.offset, d.error.code])).toEqual([
      ['4', 'REE_ERR_VALIDATION'],
      ['5', 'REE_ERR_DECODE'],
    ]);
    expect(resolved).toEqual(['5']);
  });

  it('screens a new entry against the clients already seen and publishes the match once', async () => {
    const { fake, pipeline, published } = await started();
    const shipment = reports.shipments({ reportId: 'ship-1', clientId: 'C7', clientName: 'Cheung Wai Hung Ltd', material: 'NDFEB_MAGNET', licenceId: null });
    expect(await pipeline.process([shipment])).toEqual([]);
    await fake.deliver('watchlist', 0, [json(entry())]);
    await fake.deliver('watchlist', 0, [json(entry({ reason: 'listed again' }))]);
    expect(published.map((a) => [a.ruleId, a.clientId, a.subjectEventIds])).toEqual([['watchlist-match', 'C7', ['ship-1']]]);
  });
});
