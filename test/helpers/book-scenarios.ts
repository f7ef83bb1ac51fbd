/**
 * The seeded scenarios of state-scenario.ts with the results they must give, as committed in
 * test/fixtures/book-scenarios.json (captured once from the Lua ledger's in-memory twin; see there).
 */
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import type { ApplyResult, StateUpdate } from '../../src/state/store.ts';
import { digestOf, scenario } from './state-scenario.ts';

export interface BookScenario {
  seed: number;
  length: number;
  spanDays: number | null;
  counts: { reports: number; duplicate: number; deficit: number; stock: number };
  /** digestOf(results) of each batch. */
  batches: string[];
}

const fixture = JSON.parse(readFileSync(new URL('../fixtures/book-scenarios.json', import.meta.url), 'utf8')) as { scenarios: BookScenario[] };

export const bookScenarios = (length: number): BookScenario[] => fixture.scenarios.filter((s) => s.length === length);

export const scenarioName = (s: BookScenario): string => `seed ${s.seed}, ${s.length} reports${s.spanDays === null ? '' : ` over ${s.spanDays} days`}`;

/**
 * Applies the scenario batch by batch and expects each batch's expected results. On a difference it
 * names the first batch that differs and shows what came back, so the case can be worked out by hand.
 */
export async function expectBookScenario(s: BookScenario, applyBatch: (updates: StateUpdate[]) => Promise<ApplyResult[]>): Promise<BookScenario['counts']> {
  const batches = scenario(s.seed, s.length, s.spanDays ?? undefined);
  expect(batches).toHaveLength(s.batches.length);
  const counts = { reports: 0, duplicate: 0, deficit: 0, stock: 0 };
  for (const [i, batch] of batches.entries()) {
    const results = await applyBatch(batch);
    if (digestOf(results) !== s.batches[i]) {
      expect.fail(`${scenarioName(s)}: batch ${i} gave other results than expected:\n${JSON.stringify({ batch, results }, null, 1).slice(0, 4000)}`);
    }
    for (const r of results) {
      counts.reports++;
      if (r.duplicate) counts.duplicate++;
      for (const c of r.checks) counts[c.kind]++;
    }
  }
  expect(counts).toEqual(s.counts);
  return counts;
}
