/** Bench output: a table on stdout and the figures as JSON under bench/results/ for comparison over time. */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';

export interface BenchRow {
  [column: string]: string | number;
}

export function printTable(rows: BenchRow[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]!);
  const cell = (v: string | number) => (typeof v === 'number' ? v.toLocaleString('en-US', { maximumFractionDigits: 2 }) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(cell(r[c] ?? '')).length)));
  const line = (vals: string[]) => vals.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(cols));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(cols.map((c) => String(cell(r[c] ?? '')))));
}

export function saveResults(name: string, data: object): string {
  const dir = new URL('./results/', import.meta.url);
  mkdirSync(dir, { recursive: true });
  const file = new URL(`${name}.json`, dir);
  const payload = { bench: name, at: new Date().toISOString(), node: process.version, cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model, ...data };
  writeFileSync(file, JSON.stringify(payload, null, 2) + '\n');
  return file.pathname.split('/').slice(-3).join('/');
}
