/**
 * Exactly-once output of watchlist changes (DESIGN.md, "Semantics"): a change screens the clients
 * already seen and publishes what it finds; a detector killed (SIGKILL) while it does so, then
 * restarted and finishing cleanly, must leave a read_committed reader of the alerts topic with
 * each alert id and revision exactly once, and exactly the alerts of an embedded replay.
 *
 * The reports go first and are all committed, so every entry below is screened by the watchlist
 * consumer's retro-screening, not by a report batch. Several entries match each exporting client
 * (by name or by alias), some are listed again with another reason (the same findings again: the
 * published markers must hold them back), and some match no one.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { REPORT_TOPIC_KINDS, topicNames } from '../../src/config/topics.ts';
import type { Alert, WatchlistEntry } from '../../src/domain/events.ts';
import { writeLinesToKafka } from '../../src/producers/recording-writer.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { caughtUp } from '../helpers/consumed.ts';
import { alertKey, committedAlerts, finalRevisions, replayedAlerts, seenTwice } from '../helpers/eos-alerts.ts';
import { DetectorFixtures, killHard, stopGently, type DetectorProcess } from '../helpers/detector-process.ts';
import { testKafka, waitUntil } from '../helpers/stack-env.ts';

const PARTITIONS = 3;
/** Short, so a killed member's partitions move on within seconds. */
const SESSION_TIMEOUT_MS = 6_000;
const DAY = 86_400_000;
/** Kills the detector right after its first send (or commit) of a watchlist alert (kill-after-send.mjs). */
const KILL_HOOK = join(import.meta.dirname, '..', 'helpers', 'kill-after-send.mjs');

const kafka = testKafka('ree-watchlist-eos');
const dir = mkdtempSync(join(tmpdir(), 'ree-wl-eos-'));
const fixtures = new DetectorFixtures(kafka);

afterAll(async () => {
  await fixtures.cleanUp();
  rmSync(dir, { recursive: true, force: true });
});

type SimLine = ReturnType<typeof simulate>['records'][number];

async function write(prefix: string, lines: readonly SimLine[]): Promise<void> {
  const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  await writeLinesToKafka(lines, { producer, topics: topicNames(prefix), format: 'json' });
  await producer.disconnect();
}

/** With `killAfter`, the detector kills itself right after the send, or the commit, of its first watchlist alert. */
function start(prefix: string, killAfter?: 'send' | 'commit'): DetectorProcess {
  const hookEnv = { REE_TEST_KILL_AFTER_SEND_TO: topicNames(prefix).alerts, REE_TEST_KILL_AFTER_SEND_MATCHING: '"ruleId":"watchlist-match"', REE_TEST_KILL_AT: killAfter ?? '' };
  return fixtures.start(prefix, {
    sessionTimeoutMs: SESSION_TIMEOUT_MS,
    partitions: PARTITIONS,
    ...(killAfter ? { nodeArgs: ['--import', KILL_HOOK], env: hookEnv } : {}),
  });
}

async function committedPast(groupId: string, topics: string[]): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await caughtUp(admin, groupId, topics);
  } finally {
    await admin.disconnect();
  }
}
const reportsCommitted = (prefix: string) => committedPast(`${prefix}-g`, REPORT_TOPIC_KINDS.map((k) => topicNames(prefix)[k]));
const watchlistCommitted = (prefix: string) => committedPast(`${prefix}-g.watchlist`, [topicNames(prefix).watchlist]);

/** How many watchlist records the detector's watchlist group has committed past. */
async function watchlistCount(prefix: string): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: `${prefix}-g.watchlist`, topics: [topicNames(prefix).watchlist] });
    return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
  } finally {
    await admin.disconnect();
  }
}

/** Fresh topics (their prefix) and a simulated backlog of reports, not yet written. */
async function freshTopics(name: string, seed: number): Promise<{ prefix: string; reports: SimLine[] }> {
  const prefix = await fixtures.topics(name, PARTITIONS);
  return { prefix, reports: simulate({ seed, producers: 16, days: 30, anomalyRate: 0.08 }).records };
}

/**
 * Watchlist entries listed at `at`: per exporting client of the reports, one entry under its name
 * and one with it as an alias, each listed again with another reason, and entries that match no
 * one. In the order they are to be written: every first listing, then every second one.
 */
function entriesFor(reports: readonly SimLine[], at: number): SimLine[] {
  const clients = new Set<string>();
  for (const l of reports) {
    const v = l.value as { direction?: string; clientName?: string } | null;
    if (v?.direction === 'EXPORT' && v.clientName) clients.add(v.clientName);
  }
  const listed: WatchlistEntry[] = [...clients].flatMap((client, i) => [
    { entryId: `W-EOS-${i}-name`, name: client, aliases: [], country: null, reason: 'named', listedAt: at },
    { entryId: `W-EOS-${i}-alias`, name: `Unrelated Holdings ${i}`, aliases: [client], country: null, reason: 'alias', listedAt: at },
    { entryId: `W-EOS-${i}-none`, name: `Nobody Trading ${i} Company`, aliases: [], country: null, reason: 'no match', listedAt: at },
  ]);
  const again = listed.map((e) => ({ ...e, reason: `${e.reason}, listed again` }));
  return [...listed, ...again].map((e, i): SimLine => {
    const entry = { ...e, listedAt: e.listedAt + i * 1000 };
    return { topic: topicNames('ree').watchlist, key: entry.entryId, timestamp: entry.listedAt, value: entry };
  });
}

/**
 * Fresh topics with a simulated backlog, all of whose reports a detector has committed (and then
 * stopped); and watchlist entries (entriesFor) listed after every report.
 */
async function reportsDone(name: string, seed: number): Promise<{ prefix: string; entries: SimLine[] }> {
  const { prefix, reports } = await freshTopics(name, seed);
  await write(prefix, reports);
  const first = start(prefix);
  await waitUntil(() => reportsCommitted(prefix), { timeoutMs: 120_000, intervalMs: 500, what: 'the backlog of reports committed' });
  await stopGently(first);
  return { prefix, entries: entriesFor(reports, Math.max(...reports.map((l) => l.timestamp)) + DAY) };
}

const fromTheseEntries = (a: Alert) => a.ruleId === 'watchlist-match' && (a.evidence['entryId'] ?? '').startsWith('W-EOS-');

async function expectExactlyOnce(prefix: string): Promise<void> {
  const [live, replay] = [await committedAlerts(kafka, prefix), await replayedAlerts(dir, prefix)];
  // The entries did find something: the test is about their alerts.
  expect(replay.filter(fromTheseEntries).length).toBeGreaterThan(5);
  expect(seenTwice(live)).toEqual([]);
  // The entries' alerts exactly; every alert at its final revision (report batches may pass
  // through revisions a replay's larger batches skip).
  expect(live.filter(fromTheseEntries).map(alertKey).sort()).toEqual(replay.filter(fromTheseEntries).map(alertKey).sort());
  expect(finalRevisions(live)).toEqual(finalRevisions(replay));
}

const someMoment = (minMs: number, maxMs: number) => minMs + Math.floor(Math.random() * (maxMs - minMs));

async function finishCleanly(prefix: string): Promise<void> {
  const last = start(prefix);
  await waitUntil(async () => (await watchlistCommitted(prefix)) && (await reportsCommitted(prefix)), { timeoutMs: 120_000, intervalMs: 500, what: 'the watchlist committed' });
  await stopGently(last);
}

describe('watchlist alerts exactly once to read_committed subscribers', () => {
  it('a detector killed right after sending a watchlist alert, before anything else, publishes it once after a restart', async () => {
    const { prefix, entries } = await reportsDone('ree-wl-eos-hook', 53);
    await write(prefix, entries);
    // Killed by its own hook between the send and the commit (before this change: between the
    // send and the published marks), so the batch is redelivered to the next detector.
    const hooked = start(prefix, 'send');
    expect(await hooked.exited).toBeNull();
    expect(await watchlistCommitted(prefix)).toBe(false);
    await finishCleanly(prefix);
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('a detector killed right after committing a watchlist alert, before marking it published: the entry listed again publishes nothing more', async () => {
    const { prefix, entries } = await reportsDone('ree-wl-eos-commit', 61);
    const half = entries.length / 2;
    await write(prefix, entries.slice(0, half));
    // Killed between a transaction's commit and the published marks: the offset has moved, so
    // nothing redelivers the change; the next owner must mark what that transaction published, or
    // the same entries listed again (the same findings) would publish them a second time.
    const hooked = start(prefix, 'commit');
    expect(await hooked.exited).toBeNull();
    await write(prefix, entries.slice(half));
    await finishCleanly(prefix);
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('a detector paused (SIGSTOP) while entries stream in, past its session while another takes over, then resumed: each alert once', async () => {
    const { prefix, entries } = await reportsDone('ree-wl-eos-zombie', 67);
    let next = 0;
    let feeding = true;
    // Entries a few at a time, so the pause most likely finds a batch in flight; the last third
    // waits for the pause, so the successor has something to commit past the zombie.
    const beforePause = Math.floor((entries.length * 2) / 3);
    const feeder = (async () => {
      while (feeding && next < beforePause) {
        await write(prefix, entries.slice(next, next + 3));
        next += 3;
        await sleep(150);
      }
    })();
    const zombie = start(prefix);
    await waitUntil(async () => (await watchlistCount(prefix)) > 0, { timeoutMs: 60_000, intervalMs: 25, what: 'a first watchlist batch committed' });
    zombie.child.kill('SIGSTOP');
    feeding = false;
    await feeder;
    const pausedAt = await watchlistCount(prefix);
    await write(prefix, entries.slice(next));
    // The successor takes the watchlist partitions once the paused member's session has run out,
    // opens the transactional ids the zombie's producers use (fencing them), and moves on.
    const successor = start(prefix);
    await waitUntil(async () => (await watchlistCount(prefix)) > pausedAt, { timeoutMs: 90_000, intervalMs: 250, what: 'the successor committing past the zombie' });
    zombie.child.kill('SIGCONT');
    await waitUntil(() => watchlistCommitted(prefix), { timeoutMs: 120_000, intervalMs: 500, what: 'the watchlist committed after the zombie woke' });
    await Promise.all([stopGently(successor), stopGently(zombie)]);
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('a detector killed with SIGKILL at random moments while watchlist changes stream in, then finishing cleanly, publishes each alert exactly once', async () => {
    const { prefix, entries } = await reportsDone('ree-wl-eos-kill', 59);
    const moments: number[] = [];
    let next = 0;
    let midStream = 0;
    for (let round = 0; round < 4 && next < entries.length; round += 1) {
      const d = start(prefix);
      const before = await watchlistCount(prefix);
      // Entries go in a few at a time while the detector runs, so the kill finds batches in
      // flight. The first kill waits for a first commit, then comes right after the next few
      // entries are written, before the detector can have committed them: so at least one kill
      // lands mid-stream however fast the detector keeps up (waiting for the commit alone let it
      // catch up first on a loaded machine).
      let wrote: (() => void) | undefined;
      const feeding = (async () => {
        while (next < entries.length && d.child.exitCode === null && d.child.signalCode === null) {
          await write(prefix, entries.slice(next, next + 3));
          next += 3;
          wrote?.();
          await sleep(150);
        }
      })();
      const began = Date.now();
      if (round === 0) {
        await waitUntil(async () => (await watchlistCount(prefix)) > before, { timeoutMs: 60_000, intervalMs: 25, what: 'a first watchlist batch committed' });
        await Promise.race([new Promise<void>((resolve) => (wrote = resolve)), feeding]);
      } else await sleep(someMoment(SESSION_TIMEOUT_MS / 2, SESSION_TIMEOUT_MS * 2));
      moments.push(Date.now() - began);
      await killHard(d);
      await feeding;
      if (!(await watchlistCommitted(prefix))) midStream += 1;
    }
    expect(midStream).toBeGreaterThan(0);
    if (next < entries.length) await write(prefix, entries.slice(next));
    await finishCleanly(prefix);
    await expectExactlyOnce(prefix).catch((err: unknown) => {
      throw new Error(`after kills at ${moments.join(', ')} ms: ${(err as Error).message}`);
    });
  }, 360_000);
});

/**
 * Fresh topics, the entries' first listings before every report (so the report batches find the
 * matches as they screen each export), the reports, and a detector killed right after committing
 * the first report transaction that carries a watchlist alert, before marking it published (the
 * watchlist's own transactions find nothing: no client is seen when the entries are first read).
 * Returns the second listings, not yet written.
 */
async function killedAfterReportCommit(name: string, seed: number): Promise<{ prefix: string; again: SimLine[] }> {
  const { prefix, reports } = await freshTopics(name, seed);
  const entries = entriesFor(reports, Math.min(...reports.map((l) => l.timestamp)) - DAY);
  const half = entries.length / 2;
  await write(prefix, entries.slice(0, half));
  await write(prefix, reports);
  const hooked = start(prefix, 'commit');
  expect(await hooked.exited).toBeNull();
  expect(await reportsCommitted(prefix)).toBe(false);
  return { prefix, again: entries.slice(half) };
}

describe('a report batch\'s watchlist alerts marked published exactly once', () => {
  it('a detector killed right after committing a report batch\'s watchlist alert, before marking it: the entry listed again publishes nothing more', async () => {
    // The offsets have moved, so the batch is not redelivered, and its producers' next run drops
    // the outbox entries the commit covers: unless the next owner marks what that transaction
    // published, the same entries listed again (the same findings) publish them a second time.
    const { prefix, again } = await killedAfterReportCommit('ree-wl-eos-report', 71);
    await finishCleanly(prefix);
    await write(prefix, again);
    await finishCleanly(prefix);
    await expectExactlyOnce(prefix);
  }, 300_000);

  it('the same, but listed again before the restart: the restarted watchlist group screens the entries before the report group has settled its journal, and publishes nothing more', async () => {
    // A restarted detector's watchlist group catches up (screening these against the clients
    // seen) before its report group joins and marks what the killed transaction committed: the
    // markers are not set yet, and the report group's journal must hold these back
    // (src/consumers/other-path-holds.ts; without it, six alerts went out twice).
    const { prefix, again } = await killedAfterReportCommit('ree-wl-eos-cross', 71);
    await write(prefix, again);
    await finishCleanly(prefix);
    await expectExactlyOnce(prefix);
  }, 300_000);
});
