/**
 * bench:restart — how long the detector is away after a crash: an instance is killed with SIGKILL
 * (it cannot leave its consumer group), a new one is started at once, and the time until the new
 * one is ready (/readyz 200: group joined, partitions assigned) is measured, for each session
 * timeout given. The group holds the dead member's partitions until its session runs out.
 *
 *   npm run bench:restart -- [--session-timeouts 30000,10000] [--rounds 2]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { loadSettings } from '../src/config/settings.ts';
import { topicNames } from '../src/config/topics.ts';
import { printTable, saveResults } from './report.ts';
import { quietKafkaClient } from '../src/kafka/client.ts';

const { values } = parseArgs({
  options: {
    'session-timeouts': { type: 'string', default: '30000,10000' },
    rounds: { type: 'string', default: '2' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(`Usage: npm run bench:restart -- [--session-timeouts 30000,10000] [--rounds 2]

For each session timeout (ms): starts 'ree-sentinel run' on fresh topics, waits until it is
ready, kills it with SIGKILL, starts another at once and measures the seconds until that one is
ready. 30000 is kafkajs's default; 10000 is the detector's. Needs 'npm run stack:up'.
Results are saved to bench/results/restart.json.`);
  process.exit(0);
}
const SESSION_TIMEOUTS = values['session-timeouts'].split(',').map(Number);
const ROUNDS = Number(values.rounds);
const BIN = new URL('../bin/ree-sentinel.js', import.meta.url).pathname;
const env = loadSettings(process.env);

function start(prefix: string, port: number, sessionTimeoutMs: number): ChildProcess {
  const args = ['run', '--prefix', prefix, '--group', `${prefix}-g`, '--state-prefix', prefix, '--partitions', '3', '--http-port', String(port)];
  args.push('--registry', 'none', '--alert-format', 'json', '--session-timeout', String(sessionTimeoutMs), '--log-level', 'warn');
  return spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function untilReady(port: number, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const status = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0);
    if (status === 200) return;
    await sleep(100);
  }
  throw new Error(`instance on port ${port} not ready after ${timeoutMs / 1000} s`);
}

const kafka = quietKafkaClient('ree-bench-restart', env.kafkaBrokers);
const admin = kafka.admin();
await admin.connect();
const rows: { sessionTimeoutMs: number; round: number; secondsUntilReady: number }[] = [];
const prefixes: string[] = [];
let port = 19_464;
try {
  for (const sessionTimeoutMs of SESSION_TIMEOUTS) {
    for (let round = 1; round <= ROUNDS; round += 1) {
      const prefix = `ree-bench-restart-${Date.now().toString(36)}`;
      prefixes.push(prefix);
      const first = start(prefix, (port += 1), sessionTimeoutMs);
      await untilReady(port);
      const killedAt = performance.now();
      first.kill('SIGKILL');
      const second = start(prefix, (port += 1), sessionTimeoutMs);
      try {
        await untilReady(port);
        rows.push({ sessionTimeoutMs, round, secondsUntilReady: (performance.now() - killedAt) / 1000 });
        process.stderr.write(`session ${sessionTimeoutMs} ms, round ${round}: ready again after ${rows.at(-1)!.secondsUntilReady.toFixed(1)} s\n`);
      } finally {
        second.kill('SIGTERM');
        await new Promise((resolve) => second.once('exit', resolve));
      }
    }
  }
} finally {
  const topics = prefixes.flatMap((p) => Object.values(topicNames(p)));
  const existing = new Set(await admin.listTopics());
  await admin.deleteTopics({ topics: topics.filter((t) => existing.has(t)) }).catch(() => undefined);
  await admin.disconnect();
}
printTable(rows.map((r) => ({ 'session timeout (ms)': r.sessionTimeoutMs, round: r.round, 'seconds until ready': r.secondsUntilReady })));
console.log(`saved ${saveResults('restart', { rows })}`);
