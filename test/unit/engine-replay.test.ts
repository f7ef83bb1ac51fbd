/**
 * The balance book on the state engine, through the whole pipeline: a simulated recording replayed
 * gives exactly the volume-mismatch and licence-quota-exceeded alerts (the rules that read the
 * book) the Lua ledger's in-memory twin gave, whether producers stay in memory or are evicted and
 * reloaded between batches (test/fixtures/engine-replay-book-alerts.json says where they come from).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { loadCatalogue } from '../../src/domain/catalogue.ts';
import type { Alert } from '../../src/domain/events.ts';
import type { ParsedLine } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { simulate } from '../../src/sim/simulate.ts';
import { createMemoryDurability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore, type EngineStore } from '../../src/state/engine-store.ts';

const BOOK_RULES = new Set(['volume-mismatch', 'licence-quota-exceeded']);
const expected = (JSON.parse(readFileSync(new URL('../fixtures/engine-replay-book-alerts.json', import.meta.url), 'utf8')) as { alerts: Alert[] }).alerts;

async function bookAlertsOf(lines: ParsedLine[], store: EngineStore, batchSize: number): Promise<Alert[]> {
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
  return alerts.filter((a) => BOOK_RULES.has(a.ruleId));
}

describe('state engine replaying a simulation', () => {
  const { records } = simulate({ seed: 11, producers: 30, days: 130 });
  const lines: ParsedLine[] = records.map((line, i) => ({ ok: true, line, lineNo: i + 1 }));

  it('raises the expected book alerts, in order', async () => {
    // Enough findings of both rules that a difference would show.
    expect(expected.filter((a) => a.ruleId === 'volume-mismatch')).toHaveLength(9);
    expect(expected.filter((a) => a.ruleId === 'licence-quota-exceeded')).toHaveLength(2);
    expect(await bookAlertsOf(lines, createEngineMemoryStore(), 500)).toEqual(expected);
  }, 60_000);

  it('raises the same alerts when producers are evicted and reloaded between batches', async () => {
    const engine = createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 10 });
    expect(await bookAlertsOf(lines, engine, 300)).toEqual(expected);
    // Memory stays bounded: no more producers held than asked for.
    expect(engine.engine.cachedProducers).toBeLessThanOrEqual(10);
  }, 60_000);
});
