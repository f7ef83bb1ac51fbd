/**
 * `ree-sentinel replay --redis` as a user runs it: the state engine durable in a Redis namespace of
 * its own gives the alerts the in-memory replay gives, and leaves no key behind unless asked to.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../src/domain/events.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { writeRecording } from '../../src/sim/write-recording.ts';
import { openStore } from '../../src/cli/embedded.ts';
import { cli } from '../helpers/cli.ts';
import { deleteKeysWithPrefix, keysWithPrefix, redisUrl, useTestRedis } from '../helpers/redis-state.ts';

const testRedis = useTestRedis();
const dir = mkdtempSync(join(tmpdir(), 'ree-replay-redis-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const alertsIn = (path: string) =>
  readFileSync(path, 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Alert)
    .map((a) => `${a.alertId}#${a.revision}`)
    .sort();

describe('replay --redis', () => {
  it('raises the in-memory replay alerts, saving at the end or at every checkpoint, and deletes its namespace afterwards unless --keep-state', async () => {
    const recording = join(dir, 'rec.jsonl');
    await writeRecording(recording, simulate({ seed: 5, producers: 20, days: 60 }).records);
    const run = (name: string, extra: string[]) => cli(['replay', recording, '--out', join(dir, `${name}.jsonl`), ...extra], { timeoutMs: 150_000 });
    const [memory, redis, kept] = await Promise.all([run('memory', []), run('redis', ['--redis', redisUrl()]), run('kept', ['--redis', redisUrl(), '--keep-state', '--checkpoint-every', '100'])]);
    for (const r of [memory, redis, kept]) expect(r.code).toBe(0);

    const expected = alertsIn(join(dir, 'memory.jsonl'));
    expect(expected.length).toBeGreaterThan(10);
    expect(alertsIn(join(dir, 'redis.jsonl'))).toEqual(expected);
    expect(alertsIn(join(dir, 'kept.jsonl'))).toEqual(expected);

    // The summary names the namespace: gone after the run, kept with --keep-state.
    const prefixOf = (stderr: string) => /key prefix ([^)\s,]+)/.exec(stderr)?.[1];
    const [gone, stays] = [prefixOf(redis.stderr), prefixOf(kept.stderr)];
    expect(gone).toMatch(/^ree-replay-/);
    expect(stays).toMatch(/^ree-replay-/);
    expect(await keysWithPrefix(testRedis(), gone!)).toEqual([]);
    try {
      const keys = await keysWithPrefix(testRedis(), stays!);
      expect(keys).toContain(`${stays}:{engine}:epochs`);
      // Every producer's state is there at the end, one state hash each (the checkpoints on the way
      // are tested in test/unit/replay.test.ts).
      expect(keys.filter((k) => k.endsWith(':state'))).toHaveLength(20);
    } finally {
      await deleteKeysWithPrefix(testRedis(), stays!);
    }
  }, 180_000);

  it('leaves nothing behind that would hold the process once the store is disposed', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const opened = await openStore(redisUrl());
    await opened.store.markAlertsPublished(['A1']);
    await opened.dispose();
    // The store quits its connection; disconnecting it again made ioredis wait 2 s for a close
    // event that had already come, and `replay --redis` ended a second late.
    expect(timers()).toBe(before);
  });
});
