/**
 * bench:console — how the enforcement console's inbox holds up with many alerts: the time to index
 * them (what a console does at start, reading the alerts topic) and the latency of the inbox's API
 * calls, through the real fastify server (in-process requests; no Kafka involved).
 *
 *   npm run bench:console -- [--alerts 100000] [--runs 30]
 */
import { parseArgs } from 'node:util';
import type { AlertFeed } from '../src/console/alert-feed.ts';
import { createAlertIndex, type PublishedAlert } from '../src/console/alert-index.ts';
import { createReportCatalogue } from '../src/console/report-catalogue.ts';
import { buildConsoleServer } from '../src/console/server.ts';
import { printTable, saveResults, type BenchRow } from './report.ts';

const { values } = parseArgs({ options: { alerts: { type: 'string', default: '100000' }, runs: { type: 'string', default: '30' }, help: { type: 'boolean', short: 'h' } } });
if (values.help) {
  console.log('Usage: npm run bench:console -- [--alerts 100000] [--runs 30]\n\nIndexes that many synthetic alerts, then times the inbox API calls (median and p95 of --runs). Saved to bench/results/console.json.');
  process.exit(0);
}
const count = Number(values.alerts);
const runs = Number(values.runs);
const RULES = ['volume-mismatch', 'unlicensed-client', 'licence-quota-exceeded', 'split-shipments', 'undervaluation'];
const SEVERITIES = ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL'] as const;

function syntheticAlert(i: number): PublishedAlert {
  return {
    alertId: `a-${i}`,
    ruleId: RULES[i % RULES.length]!,
    ruleVersion: 1,
    severity: SEVERITIES[i % 4]!,
    score: (i % 100) / 100,
    producerId: `P-${i % 2500}`,
    clientId: `C-${i % 9000}`,
    licenceId: i % 3 === 0 ? `LIC-${i % 4000}` : null,
    subjectEventIds: [`r-${i}`],
    summary: `P-${i % 2500} shipped ${i % 700} kg more NDPR_OXIDE than it had available`,
    evidence: { material: i % 2 ? 'NDPR_OXIDE' : 'DY_OXIDE', quantityKg: String(i % 700), toleranceKg: '5', clientName: `Client ${i % 9000} Trading Co.` },
    eventTime: 1_750_000_000_000 + i * 60_000,
    detectedAt: 1_760_000_000_000 + i * 1_000,
    windowStart: null,
    windowEnd: null,
  };
}

const index = createAlertIndex();
const started = process.hrtime.bigint();
for (let i = 0; i < count; i += 1) index.addAlert(syntheticAlert(i));
const indexSeconds = Number(process.hrtime.bigint() - started) / 1e9;

const token = 'bench-token-bench-token';
const noFeed: AlertFeed = { start: async () => undefined, subscribe: () => () => undefined, announce: () => undefined, stop: async () => undefined };
const app = buildConsoleServer({ index, reports: createReportCatalogue(), feed: noFeed, statusLog: { publish: async () => undefined }, token });
await app.ready();

const calls: [string, string][] = [
  ['first page, no filter', '/api/alerts'],
  ['first page, by rule', '/api/alerts?rule=unlicensed-client'],
  ['by producer', '/api/alerts?producer=P-42'],
  ['search text', '/api/alerts?q=client%2077%20trading'],
  ['event-time range + severity', '/api/alerts?from=2025-06-20T00:00:00Z&to=2025-06-30T00:00:00Z&severity=HIGH'],
  ['last page', `/api/alerts?offset=${Math.max(0, count - 50)}&limit=50`],
  ['one alert', `/api/alerts/a-${Math.floor(count / 2)}`],
];
const rows: BenchRow[] = [];
for (const [name, url] of calls) {
  const times: number[] = [];
  let total = 0;
  for (let r = 0; r < runs; r += 1) {
    const t0 = process.hrtime.bigint();
    const res = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } });
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.statusCode !== 200) throw new Error(`${url}: HTTP ${res.statusCode} ${res.body}`);
    total = (res.json() as { total?: number }).total ?? 1;
  }
  times.sort((a, b) => a - b);
  rows.push({ call: name, matches: total, 'median ms': times[Math.floor(runs / 2)]!, 'p95 ms': times[Math.min(runs - 1, Math.floor(runs * 0.95))]! });
}
await app.close();

console.log(`${count.toLocaleString('en-US')} alerts indexed in ${indexSeconds.toFixed(2)} s (${Math.round(count / indexSeconds).toLocaleString('en-US')} alerts/s), heap ${Math.round(process.memoryUsage().heapUsed / 1e6)} MB\n`);
printTable(rows);
console.log(`\nsaved to ${saveResults('console', { alerts: count, runs, indexSeconds, heapUsedMb: process.memoryUsage().heapUsed / 1e6, calls: rows })}`);
