/**
 * `record` merges the topics' partitions into one recording by when each record became known. A
 * compacted licences topic may have dropped a licence's issuance and kept only a later version (a
 * revocation): the recording must still have the licence from its issuance, as the live detector
 * (which reads the topic whole before any report) has it, or a replay flags the exports made
 * under it while it was in force as under an unknown licence.
 */
import { createWriteStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { mergeByTime } from '../../src/cli/record.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import type { Alert } from '../../src/domain/events.ts';
import { readRecording } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { D0, at, licence, shipment, testCatalogue } from '../helpers/builders.ts';

const dir = mkdtempSync(join(tmpdir(), 'ree-record-merge-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One partition's spill, as `record` writes it: its records in offset order. */
function spill(name: string, topic: string, partition: number, records: { offset: number; key: string; value: object; timestamp: number }[]) {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, records.map((r) => JSON.stringify({ topic, key: r.key, timestamp: r.timestamp, partition, offset: String(r.offset), value: r.value }) + '\n').join(''));
  return { path, topic };
}

async function recordAndReplay(spills: { path: string; topic: string }[]): Promise<{ lines: { topic: string; key: string }[]; alerts: Alert[] }> {
  const path = join(dir, `recording-${Math.random().toString(36).slice(2)}.jsonl`);
  const out = createWriteStream(path);
  await mergeByTime(spills, out);
  out.end();
  await once(out, 'finish');
  const lines: { topic: string; key: string }[] = [];
  for await (const l of readRecording(path).lines) if (l.ok) lines.push({ topic: l.line.topic, key: l.line.key! });
  const alerts: Alert[] = [];
  await replayLines(readRecording(path).lines, { store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: testCatalogue(), onAlerts: (a) => void alerts.push(...a) });
  return { lines, alerts };
}

describe('a recording of a compacted licences topic', () => {
  // LIC-1 was issued at D0-31 and revoked from D0+1; compaction left only the revocation, at an
  // offset after LIC-2's issuance (D0-2), a licence issued later than LIC-1.
  const revoked = licence({ status: 'REVOKED', effectiveAt: at(D0 + 1, 0) });
  const other = licence({ licenceId: 'LIC-2', clientId: 'C2', issuedAt: at(D0 - 2, 0) });
  const whileActive = shipment({ occurredAt: at(D0 - 10) });
  const afterRevocation = shipment({ occurredAt: at(D0 + 2) });
  const licences = () =>
    spill('licences', 'ree.licences.v1', 0, [
      { offset: 3, key: other.licenceId, value: other, timestamp: other.issuedAt },
      { offset: 5, key: revoked.licenceId, value: revoked, timestamp: revoked.effectiveAt! },
    ]);
  const shipments = () =>
    spill('shipments', 'ree.shipments.v1', 1, [
      { offset: 0, key: 'P1', value: whileActive, timestamp: whileActive.reportedAt },
      { offset: 1, key: 'P1', value: afterRevocation, timestamp: afterRevocation.reportedAt },
    ]);

  it('has the licence from its issuance, before the exports made under it', async () => {
    const { lines } = await recordAndReplay([licences(), shipments()]);
    expect(lines.map((l) => l.key)).toEqual(['LIC-1', 'P1', 'LIC-2', 'P1']);
  });

  it('replays as the live detector judges it: only the export after the revocation is flagged, as revoked', async () => {
    const { alerts } = await recordAndReplay([licences(), shipments()]);
    const unlicensed = alerts.filter((a) => a.ruleId === 'unlicensed-client');
    expect(unlicensed.map((a) => [a.subjectEventIds, a.evidence['reasons']])).toEqual([[[afterRevocation.reportId], 'revoked']]);
  });

  it("keeps a licence's later versions after its first, in offset order", async () => {
    const suspended = licence({ status: 'SUSPENDED', effectiveAt: at(D0 - 20, 0) });
    const reinstated = licence({ status: 'ACTIVE', effectiveAt: at(D0 - 25, 0) });
    const { lines } = await recordAndReplay([
      spill('versions', 'ree.licences.v1', 0, [
        { offset: 0, key: 'LIC-1', value: suspended, timestamp: suspended.effectiveAt! },
        { offset: 1, key: 'LIC-2', value: other, timestamp: other.issuedAt },
        // Odd data (a version effective before the one written ahead of it): still after it.
        { offset: 2, key: 'LIC-1', value: reinstated, timestamp: reinstated.effectiveAt! },
      ]),
    ]);
    expect(lines.map((l) => l.key)).toEqual(['LIC-1', 'LIC-1', 'LIC-2']);
  });
});
