/**
 * Rule state on the real Redis: a stateful test rule's cells and timers survive a restart of the
 * detector's state (a new engine, watermark and timer index on the same key prefix, nothing in
 * memory), the shared watermark is one value for every instance and never moves back, and a
 * redelivered batch after a crash re-sends its alerts from the outbox saved in Redis.
 */
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRulesFile } from '../../src/config/rules-file.ts';
import type { Alert, Report } from '../../src/domain/events.ts';
import { createPipeline, type Pipeline } from '../../src/pipeline/pipeline.ts';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { createRedisTimerIndex } from '../../src/state/redis-timer-index.ts';
import { createRedisWatermark } from '../../src/state/redis-watermark.ts';
import { D0, at, reports, testCatalogue } from '../helpers/builders.ts';
import { deleteKeysWithPrefix, redisUrl, uniquePrefix, useTestRedis } from '../helpers/redis-state.ts';
import { SILENCE_MS, createTallyRule, type TallyRule } from '../helpers/tally-rule.ts';

const testRedis = useTestRedis();
const opened: { close(): Promise<void> }[] = [];
const prefixes: string[] = [];

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  for (const p of prefixes.splice(0)) await deleteKeysWithPrefix(testRedis(), p);
});

/** One detector's state on Redis under `prefix`: its own connection, engine (empty memory), watermark and index. */
function detector(prefix: string, tally: TallyRule = createTallyRule()): { pipeline: Pipeline; tally: TallyRule } {
  const redis = new Redis(redisUrl());
  const store = createEngineRedisStore({ redis, prefix });
  opened.push(store);
  const pipeline = createPipeline({
    store,
    rules: parseRulesFile('', 'test rules', [tally.rule]),
    catalogue: testCatalogue(),
    watermark: createRedisWatermark({ redis, prefix, allowedLatenessMs: 0 }),
    timerIndex: createRedisTimerIndex({ redis, prefix }),
  });
  return { pipeline, tally };
}

const made = (producerId: string, occurredAt: number): Report =>
  reports.production({ producerId, material: 'NDPR_OXIDE', stage: 'SEPARATION', quantityKg: 1, occurredAt });
const on = (partition: number) => (rs: Report[]) => rs.map(() => ({ source: `production/${partition}`, partition }));

async function batch(pipeline: Pipeline, rs: Report[], partition = 0): Promise<Alert[]> {
  const found = await pipeline.process(rs, on(partition)(rs));
  await pipeline.markPublished(found);
  const fired = await pipeline.fireTimers([partition]);
  await pipeline.markPublished(fired);
  return [...found, ...fired];
}

describe('rule state on Redis', () => {
  it("keeps a rule's cells and timers across a restart: the tally grows on, and a silent producer's timer fires", async () => {
    const prefix = uniquePrefix('rule-state');
    prefixes.push(prefix);
    const first = detector(prefix);
    const a = made('P1', at(D0, 1));
    const b = made('P1', at(D0, 2));
    await batch(first.pipeline, [a]);
    const rev2 = await batch(first.pipeline, [b]);
    expect(rev2.map((x) => x.revision)).toEqual([2]);

    const restarted = detector(prefix);
    const c = made('P1', at(D0, 3));
    const rev3 = await batch(restarted.pipeline, [c]);
    expect(rev3.map((x) => [x.alertId, x.revision, x.subjectEventIds])).toEqual([[rev2[0]!.alertId, 3, [a, b, c].map((r) => r.event.reportId)]]);

    // P2 reports once, then the detector restarts; only P3's reports move the watermark on.
    const lonely = made('P2', at(D0, 4));
    await batch(restarted.pipeline, [lonely]);
    const third = detector(prefix);
    const fired = (await batch(third.pipeline, [made('P3', at(D0, 4) + SILENCE_MS)])).filter((x) => x.summary.includes('silent'));
    expect(fired.map((x) => [x.producerId, x.subjectEventIds])).toEqual([
      ['P1', [c.event.reportId]],
      ['P2', [lonely.event.reportId]],
    ]);
  });

  it('re-sends a batch whose alerts were never published, after a restart, from the outbox saved with the state', async () => {
    const prefix = uniquePrefix('rule-outbox');
    prefixes.push(prefix);
    const crashed = detector(prefix);
    const rs = [made('P1', at(D0, 1)), made('P1', at(D0, 2))];
    const lost = await crashed.pipeline.process(rs, on(0)(rs));
    expect(lost.map((x) => x.revision)).toEqual([2]);

    const next = detector(prefix);
    const resent = await next.pipeline.process(rs, on(0)(rs));
    expect(next.tally.calls.evaluate).toBe(0);
    expect(resent.map((x) => [x.alertId, x.revision, x.subjectEventIds])).toEqual(lost.map((x) => [x.alertId, x.revision, x.subjectEventIds]));
    await next.pipeline.markPublished(resent);
    expect(await next.pipeline.process(rs, on(0)(rs))).toEqual([]);
    expect(await next.pipeline.fireTimers([0])).toEqual([]);
  });

  it('shares one watermark between instances: the minimum over partitions with data, never moving back', async () => {
    const prefix = uniquePrefix('rule-watermark');
    prefixes.push(prefix);
    const one = detector(prefix);
    const two = detector(prefix);
    await batch(one.pipeline, [made('P1', at(D0, 10))], 0);
    expect(one.pipeline.watermark()).toBe(at(D0, 10));
    await batch(two.pipeline, [made('P2', at(D0, 6))], 1);
    // Partition 1 came late with older reports: the watermark stays where it was.
    expect(two.pipeline.watermark()).toBe(at(D0, 10));
    await batch(two.pipeline, [made('P2', at(D0, 14))], 1);
    expect(two.pipeline.watermark()).toBe(at(D0, 10));
    await batch(one.pipeline, [made('P1', at(D0, 20))], 0);
    expect(one.pipeline.watermark()).toBe(at(D0, 14));
  });
});
