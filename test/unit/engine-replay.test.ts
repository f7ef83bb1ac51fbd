/**
 * The state engine proven on the old part's outputs: a simulated recording replayed through the
 * pipeline with today's in-memory store and with the engine gives the very same alerts.
 */
import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert } from '../../src/domain/events.ts';
import type { ParsedLine } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { createMemoryDurability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import type { StateStore } from '../../src/state/store.ts';

async function alertsOf(lines: ParsedLine[], store: StateStore, batchSize: number): Promise<Alert[]> {
  const alerts: Alert[] = [];
  await replayLines(lines, {
    store,
    rules: loadRulesFile(),
    catalogue: loadCatalogue(),
    batchSize,
    now: () => 0,
    onAlerts: (found) => {
      alerts.push(...found);
    },
  });
  return alerts;
}

describe('state engine replaying a simulation', () => {
  const { records } = simulate({ seed: 11, producers: 30, days: 130 });
  const lines: ParsedLine[] = records.map((line, i) => ({ ok: true, line, lineNo: i + 1 }));

  it('raises the same alerts as the in-memory store, in the same order', async () => {
    const expected = await alertsOf(lines, createMemoryStore(), 500);
    // Enough findings of both stateful rules that a difference would show.
    expect(expected.filter((a) => a.ruleId === 'volume-mismatch').length).toBeGreaterThan(5);
    expect(expected.filter((a) => a.ruleId === 'licence-quota-exceeded').length).toBeGreaterThan(0);
    expect(await alertsOf(lines, createEngineMemoryStore(), 500)).toEqual(expected);
  }, 60_000);

  it('raises the same alerts when producers are evicted and reloaded between batches', async () => {
    const expected = await alertsOf(lines, createMemoryStore(), 300);
    const engine = createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 10 });
    expect(await alertsOf(lines, engine, 300)).toEqual(expected);
    // Memory stays bounded: no more producers held than asked for.
    expect(engine.engine.cachedProducers).toBeLessThanOrEqual(10);
  }, 60_000);
});
