/**
 * Replay over hand-made recordings, on the in-memory store: licences take effect where they stand
 * in the file, bad lines become dead letters and the replay goes on, and the same lines always
 * give the same alerts whatever the batch size.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import type { Alert, InventoryReport, Licence, ProductionQuota, ProductionReport, ReceiptReport, ShipmentReport, WatchlistEntry } from '../../src/domain/events.ts';
import { RULES } from '../../src/rules/index.ts';
import { ReeError } from '../../src/errors.ts';
import { parseRecordingLine, readRecording, topicKindOf, type ParsedLine } from '../../src/pipeline/recording.ts';
import { replayLines, type ReplaySummary } from '../../src/pipeline/replay.ts';
import { createMemoryDurability } from '../../src/state/engine/durability.ts';
import { createEngineMemoryStore, type EngineStore } from '../../src/state/engine-store.ts';
import { D0, at, inventory, licence, production, receipt, shipment, testCatalogue } from '../helpers/builders.ts';
import { HOUR_MS } from '../../src/domain/time.ts';

const catalogue = testCatalogue();
const rules = loadRulesFile();

// ---- recording lines, as `record` writes them ----

const line = (topic: string, key: string | null, value: unknown, timestamp = at(D0)): string => JSON.stringify({ topic, key, timestamp, value });
const rec = {
  production: (p: ProductionReport, prefix = 'ree') => line(`${prefix}.production.v1`, p.producerId, p, p.reportedAt),
  shipment: (s: ShipmentReport, prefix = 'ree') => line(`${prefix}.shipments.v1`, s.producerId, s, s.reportedAt),
  inventory: (i: InventoryReport, prefix = 'ree') => line(`${prefix}.inventory.v1`, i.producerId, i, i.reportedAt),
  receipt: (r: ReceiptReport, prefix = 'ree') => line(`${prefix}.receipts.v1`, r.producerId, r, r.reportedAt),
  licence: (l: Licence, prefix = 'ree') => line(`${prefix}.licences.v1`, l.licenceId, l, l.issuedAt),
  tombstone: (licenceId: string, prefix = 'ree') => line(`${prefix}.licences.v1`, licenceId, null),
  watchlist: (w: WatchlistEntry, prefix = 'ree') => line(`${prefix}.watchlist.v1`, w.entryId, w, w.listedAt),
  quota: (q: ProductionQuota, prefix = 'ree') => line(`${prefix}.quotas.v1`, q.quotaId, q, q.issuedAt),
};

/** Lines numbered from 1, as readRecording numbers a file with no blank lines. */
const parsed = (raw: string[]): ParsedLine[] => raw.map((r, i) => parseRecordingLine(r, i + 1));

async function replay(raw: string[] | ParsedLine[] | AsyncIterable<ParsedLine>, batchSize?: number, store: EngineStore = createEngineMemoryStore(), checkpointEvery?: number) {
  const alerts: Alert[] = [];
  const dead: { lineNo: number; topic?: string; reason: string }[] = [];
  const input = Array.isArray(raw) && typeof raw[0] === 'string' ? parsed(raw as string[]) : (raw as ParsedLine[]);
  const summary = await replayLines(input, {
    store,
    rules,
    catalogue,
    batchSize,
    checkpointEvery,
    onAlerts: (batch) => void alerts.push(...batch),
    onDeadLetter: (d) => void dead.push(d),
  });
  return { alerts, dead, summary };
}

const unlicensed = (alerts: Alert[]) => alerts.filter((a) => a.ruleId === 'unlicensed-client');

describe('replay: report keys', () => {
  it("dead-letters a report under another producer's key, and a keyless one recorded from Kafka, as the live detector does; a hand-made keyless line is applied", async () => {
    const own = shipment({ producerId: 'P1', licenceId: null, occurredAt: at(D0, 9) });
    const misplaced = shipment({ producerId: 'P1', licenceId: null, occurredAt: at(D0, 10) });
    const keyless = shipment({ producerId: 'P1', licenceId: null, occurredAt: at(D0, 11) });
    const recordedKeyless = shipment({ producerId: 'P1', licenceId: null, occurredAt: at(D0, 12) });
    const { alerts, dead, summary } = await replay([
      rec.shipment(own),
      line('ree.shipments.v1', 'P2', misplaced, misplaced.reportedAt),
      line('ree.shipments.v1', null, keyless, keyless.reportedAt),
      JSON.stringify({ topic: 'ree.shipments.v1', key: null, timestamp: recordedKeyless.reportedAt, partition: 3, offset: '17', value: recordedKeyless }),
    ]);
    expect(dead).toEqual([
      { lineNo: 2, topic: 'ree.shipments.v1', reason: 'line 2: record key "P2" is not the report\'s producerId "P1": report topics are keyed by producerId' },
      { lineNo: 4, topic: 'ree.shipments.v1', reason: 'line 4: record has no key: report topics are keyed by producerId, so send it under the key "P1"' },
    ]);
    expect(summary).toMatchObject({ reports: 2, deadLetters: 2 });
    expect(unlicensed(alerts).map((a) => a.subjectEventIds[0])).toEqual([own.reportId, keyless.reportId]);
  });
});

describe('replay: report times against the moment of reading', () => {
  it('dead-letters a report reported after the replay reads it (a mistyped year), whatever its record time, and applies one reported up to a day ahead', async () => {
    const readAt = Date.UTC(2026, 11, 2, 12);
    const typo = shipment({ producerId: 'P1', licenceId: null, occurredAt: Date.UTC(2099, 5, 1, 8), reportedAt: Date.UTC(2099, 5, 1, 12) });
    const late = shipment({ producerId: 'P1', licenceId: null, occurredAt: Date.UTC(2025, 5, 1, 8), reportedAt: Date.UTC(2025, 5, 4, 12) });
    const skewed = shipment({ producerId: 'P1', licenceId: null, occurredAt: readAt + 3_600_000, reportedAt: readAt + 20 * 3_600_000 });
    const dead: { lineNo: number; reason: string }[] = [];
    const summary = await replayLines(
      parsed([
        line('ree.shipments.v1', 'P1', typo, at(D0)),
        line('ree.shipments.v1', 'P1', { ...typo, reportId: 'R-NO-TIME' }, 0),
        // Stamped with occurredAt by its loader, filed three days later: the record time plays no part.
        line('ree.shipments.v1', 'P1', late, late.occurredAt),
        line('ree.shipments.v1', 'P1', skewed, 0),
      ]),
      { store: createEngineMemoryStore(), rules, catalogue, readAt, onDeadLetter: (d) => void dead.push(d) },
    );
    expect(dead.map((d) => d.lineNo)).toEqual([1, 2]);
    expect(dead[0]!.reason).toBe('line 1: reportedAt: later than the moment it was read by more than a day of clock skew (2099-06-01T12:00:00.000Z > 2026-12-02T12:00:00.000Z): a report describes the past');
    expect(summary).toMatchObject({ reports: 2, deadLetters: 2 });
  });

  it('judges a line recorded from Kafka against the replay start only: its record time, the producer\'s to set, cannot let a mistyped year through', async () => {
    const typo = shipment({ producerId: 'P1', licenceId: null, occurredAt: Date.UTC(2099, 5, 1, 8), reportedAt: Date.UTC(2099, 5, 1, 12) });
    const { dead } = await replay([JSON.stringify({ topic: 'ree.shipments.v1', key: 'P1', timestamp: typo.reportedAt, partition: 0, offset: '4', value: typo })]);
    expect(dead.map((d) => d.lineNo)).toEqual([1]);
    expect(dead[0]!.reason).toMatch(/^line 1: reportedAt: later than the moment it was read/);
  });

  it("takes a line's own record time when later than the replay's start: a simulation dated in the future replays whole", async () => {
    const future = shipment({ producerId: 'P1', licenceId: null, occurredAt: Date.UTC(2030, 0, 5, 8), reportedAt: Date.UTC(2030, 0, 5, 12) });
    const { dead, summary } = await replay([rec.shipment(future)]);
    expect(dead).toEqual([]);
    expect(summary).toMatchObject({ reports: 1, deadLetters: 0 });
  });
});

describe('replay: licences in file order', () => {
  it('alerts an export made before its licence line, not one made after it, and again after a tombstone', async () => {
    // All three on the same day under the same licence: only the licence register changes between them.
    const before = shipment({ occurredAt: at(D0, 9) });
    const after = shipment({ occurredAt: at(D0, 10) });
    const afterTombstone = shipment({ occurredAt: at(D0, 11) });
    const { alerts, dead, summary } = await replay([rec.shipment(before), rec.licence(licence()), rec.shipment(after), rec.tombstone('LIC-1'), rec.shipment(afterTombstone)]);

    expect(dead).toEqual([]);
    expect(unlicensed(alerts).map((a) => a.subjectEventIds)).toEqual([[before.reportId], [afterTombstone.reportId]]);
    for (const a of unlicensed(alerts)) expect(a.evidence.reasons).toBe('unknown-licence');
    expect(summary).toMatchObject({ lines: 5, reports: 3, licences: 2, skipped: 0, deadLetters: 0 });
  });

  it('applies a licence line after the reports before it even when they share a batch', async () => {
    // A batch of 2000 would hold all three reports; the licence line must still split them.
    const lines = [rec.shipment(shipment()), rec.shipment(shipment()), rec.licence(licence()), rec.shipment(shipment())];
    expect(unlicensed((await replay(lines, 2000)).alerts)).toHaveLength(2);
    expect(unlicensed((await replay(lines, 1)).alerts)).toHaveLength(2);
  });

  it('does not split a batch at the line of a licence none of its reports names, and finds the same alerts as batches of one', async () => {
    const other = licence({ licenceId: 'LIC-2' });
    const lines = [rec.shipment(shipment()), rec.shipment(shipment({ licenceId: 'LIC-2' })), rec.licence(licence()), rec.licence(other), rec.shipment(shipment({ licenceId: 'LIC-2' })), rec.shipment(shipment())];
    let batches = 0;
    const alerts: Alert[] = [];
    await replayLines(parsed(lines), { store: createEngineMemoryStore(), rules, catalogue, batchSize: 2000, onAlerts: (a) => void alerts.push(...a), onProgress: () => void (batches += 1) });
    // LIC-1's line: no pending report names it, so no split. LIC-2's line: the second report names it, so the batch before it is flushed.
    expect(batches).toBe(2);
    // Before LIC-1's line: unknown licence; after it: licensed. LIC-2's first export came before its licence.
    expect(unlicensed(alerts).map((a) => a.subjectEventIds[0]).sort()).toEqual(unlicensed((await replay(lines, 1)).alerts).map((a) => a.subjectEventIds[0]).sort());
    expect(unlicensed(alerts)).toHaveLength(2);
  });

  it('sends the licence lines between two flushes without waiting for each, and the reports after them see every one', async () => {
    const store = createEngineMemoryStore();
    const put = store.putLicence.bind(store);
    let pending = 0;
    let mostPending = 0;
    store.putLicence = async (l) => {
      pending += 1;
      mostPending = Math.max(mostPending, pending);
      await new Promise((resolve) => setTimeout(resolve, 1));
      await put(l);
      pending -= 1;
    };
    const licences = ['LIC-1', 'LIC-2', 'LIC-3'].map((licenceId) => licence({ licenceId }));
    const exports = licences.map((l) => shipment({ licenceId: l.licenceId }));
    const { alerts, summary } = await replay([...licences.map((l) => rec.licence(l)), ...exports.map((s) => rec.shipment(s))], 2000, store);
    expect(mostPending).toBe(3);
    expect(unlicensed(alerts)).toEqual([]);
    expect(summary).toMatchObject({ licences: 3, deadLetters: 0 });
  });

  it('dead-letters a licence line whose write the store refuses, and goes on', async () => {
    const store = createEngineMemoryStore();
    store.putLicence = () => Promise.reject(new Error('store refused the write'));
    const { alerts, dead, summary } = await replay([rec.licence(licence()), rec.shipment(shipment())], 2000, store);
    expect(dead).toEqual([{ lineNo: 1, topic: 'ree.licences.v1', reason: 'line 1: store refused the write' }]);
    expect(unlicensed(alerts)).toHaveLength(1);
    expect(summary).toMatchObject({ licences: 0, deadLetters: 1, reports: 1 });
  });

  it('uses the latest version of a licence: a revocation mid-file turns later exports into alerts', async () => {
    const ok = shipment();
    const late = shipment({ occurredAt: at(D0, 13) });
    const { alerts } = await replay([rec.licence(licence()), rec.shipment(ok), rec.licence(licence({ status: 'REVOKED' })), rec.shipment(late)]);
    expect(unlicensed(alerts).map((a) => [a.subjectEventIds, a.evidence.reasons])).toEqual([[[late.reportId], 'revoked']]);
  });
});

describe('replay: licence versions by effectiveAt', () => {
  const issued = licence();
  const revoked = licence({ status: 'REVOKED', effectiveAt: at(D0 + 1, 0) });
  const shippedWhileActive = shipment({ occurredAt: at(D0, 12), reportedAt: at(D0 + 2, 12) });
  const shippedAfterRevocation = shipment({ occurredAt: at(D0 + 1, 12), reportedAt: at(D0 + 2, 13) });

  it.each([
    ['revocation after the export', [rec.licence(issued), rec.shipment(shippedWhileActive), rec.licence(revoked), rec.shipment(shippedAfterRevocation)]],
    ['revocation before the export', [rec.licence(issued), rec.licence(revoked), rec.shipment(shippedWhileActive), rec.shipment(shippedAfterRevocation)]],
    ['revocation before the licence itself', [rec.licence(revoked), rec.licence(issued), rec.shipment(shippedWhileActive), rec.shipment(shippedAfterRevocation)]],
  ])('judges an export by the version in effect when the goods went: %s', async (_order, lines) => {
    const { alerts } = await replay(lines);
    expect(unlicensed(alerts).map((a) => [a.subjectEventIds, a.evidence.reasons, a.evidence.licenceStatusSince])).toEqual([
      [[shippedAfterRevocation.reportId], 'revoked', new Date(at(D0 + 1, 0)).toISOString()],
    ]);
  });

  it('gives the same alert ids in every order of arrival', async () => {
    const ids = async (lines: string[]) => (await replay(lines)).alerts.map((a) => a.alertId);
    const first = await ids([rec.licence(issued), rec.shipment(shippedWhileActive), rec.licence(revoked), rec.shipment(shippedAfterRevocation)]);
    expect(await ids([rec.licence(revoked), rec.licence(issued), rec.shipment(shippedWhileActive), rec.shipment(shippedAfterRevocation)])).toEqual(first);
  });

  it('treats the licence as issued (active) before a revocation whose first record compaction removed', async () => {
    const { alerts } = await replay([rec.licence(revoked), rec.shipment(shippedWhileActive), rec.shipment(shippedAfterRevocation)]);
    expect(unlicensed(alerts).map((a) => a.subjectEventIds)).toEqual([[shippedAfterRevocation.reportId]]);
  });
});

describe('replay: bad lines are dead letters and the replay goes on', () => {
  it('counts each bad line with a reason naming its line number and the field, and still alerts on the good ones', async () => {
    const good = shipment({ licenceId: null });
    const { alerts, dead, summary } = await replay([
      '{"topic": "ree.shipments.v1", "key": "P1", "value": {',
      '[1, 2]',
      JSON.stringify({ key: 'P1', value: {} }),
      JSON.stringify({ topic: 'ree.shipments.v1', key: 'P1' }),
      rec.shipment(shipment({ quantityKg: -5 })),
      rec.licence({ ...licence(), quotaKg: 'plenty' } as unknown as Licence),
      rec.shipment(good),
    ]);

    expect(dead.map((d) => d.lineNo)).toEqual([1, 2, 3, 4, 5, 6]);
    const reasons = dead.map((d) => d.reason);
    expect(reasons[0]).toMatch(/^line 1: not JSON/);
    expect(reasons[1]).toBe('line 2: not a JSON object');
    expect(reasons[2]).toMatch(/^line 3: topic: /);
    expect(reasons[3]).toMatch(/^line 4: value: /);
    expect(reasons[4]).toMatch(/^line 5: invalid ShipmentReport: quantityKg: /);
    expect(reasons[5]).toMatch(/^line 6: invalid Licence: quotaKg: /);
    // The topic is known once the line parsed, and says where an operator would look.
    expect(dead.slice(4).map((d) => d.topic)).toEqual(['ree.shipments.v1', 'ree.licences.v1']);

    expect(unlicensed(alerts).map((a) => [a.subjectEventIds, a.evidence.reasons])).toEqual([[[good.reportId], 'no-licence']]);
    expect(summary).toMatchObject({ lines: 7, reports: 1, licences: 0, skipped: 0, deadLetters: 6, alerts: 1 });
  });

  it('refuses a licence whose key is not its licenceId, as the live licence consumer does', async () => {
    const { dead, alerts } = await replay([line('ree.licences.v1', 'LIC-9', licence()), rec.shipment(shipment())]);
    expect(dead).toHaveLength(1);
    expect(dead[0]!.reason).toMatch(/^line 1: .*LIC-9.*LIC-1/);
    // The licence was not applied, so the export under LIC-1 is still unlicensed.
    expect(unlicensed(alerts)).toHaveLength(1);
  });

  it('refuses a tombstone with no key, which names no licence to delete', async () => {
    const { dead, alerts, summary } = await replay([rec.licence(licence()), line('ree.licences.v1', null, null), rec.shipment(shipment())]);
    expect(dead.map((d) => d.reason)).toEqual(['line 2: key: a tombstone needs the licenceId it deletes as its key']);
    expect(unlicensed(alerts)).toEqual([]);
    expect(summary).toMatchObject({ licences: 1, deadLetters: 1 });
  });

  it('numbers lines as the file does, blank lines included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ree-replay-'));
    try {
      const path = join(dir, 'rec.jsonl');
      writeFileSync(path, [rec.licence(licence()), '', rec.shipment(shipment({ quantityKg: 0 })), rec.shipment(shipment())].join('\n') + '\n');
      const { dead, summary } = await replay(readRecording(path).lines);
      expect(dead.map((d) => d.lineNo)).toEqual([3]);
      expect(dead[0]!.reason).toMatch(/^line 3: .*quantityKg/);
      expect(summary).toMatchObject({ lines: 3, reports: 1, licences: 1, deadLetters: 1 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a recording that does not exist with REE_ERR_INPUT_FILE, naming it', () => {
    const path = join(tmpdir(), 'ree-no-such-recording.jsonl');
    expect(() => readRecording(path)).toThrow(ReeError);
    try {
      readRecording(path);
    } catch (err) {
      expect((err as ReeError).code).toBe('REE_ERR_INPUT_FILE');
      expect((err as ReeError).message).toContain(path);
    }
  });
});

describe('replay: topics', () => {
  it.each([
    ['ree.shipments.v1', 'shipments'],
    ['acme.shipments.v1', 'shipments'],
    ['acme.eu.licences.v2', 'licences'],
    ['shipments.v1', 'shipments'],
    ['acme.watchlist.v1', 'watchlist'],
    ['acme.shipments', undefined],
    ['acme.myshipments.v1', undefined],
    ['acme.shipments.v1.backup', undefined],
    ['acme.orders.v1', undefined],
  ])('reads %s as %s', (topic, kind) => {
    expect(topicKindOf(topic)).toBe(kind);
  });

  it('replays a recording made under another prefix as it would the default one', async () => {
    const first = shipment();
    const second = shipment();
    const acme = await replay([rec.shipment(first, 'acme'), rec.licence(licence(), 'acme'), rec.shipment(second, 'acme')]);
    expect(acme.summary).toMatchObject({ reports: 2, licences: 1, skipped: 0, deadLetters: 0 });
    expect(unlicensed(acme.alerts).map((a) => a.subjectEventIds)).toEqual([[first.reportId]]);
  });

  it('skips alerts, dead-letter and unknown topics without alerting or dead-lettering', async () => {
    const { alerts: earlier } = await replay([rec.shipment(shipment({ licenceId: null }))]);
    const { alerts, dead, summary } = await replay([
      line('ree.alerts.v1', 'P1', earlier[0]),
      line('ree.deadletter.v1', 'P1', { anything: true }),
      line('acme.orders.v1', 'O1', { orderId: 'O1' }),
    ]);
    expect(earlier).toHaveLength(1);
    expect(alerts).toEqual([]);
    expect(dead).toEqual([]);
    expect(summary).toMatchObject({ lines: 3, reports: 0, licences: 0, skipped: 3, deadLetters: 0, alerts: 0 });
  });

  it('applies watchlist entries and validates quotas, dead-lettering the bad ones', async () => {
    const { alerts, dead, summary } = await replay([
      rec.watchlist({ entryId: 'W1', name: 'Shady Trading', aliases: [], country: null, reason: 'test', listedAt: at(D0) }),
      line('ree.watchlist.v1', 'W1', null),
      line('ree.watchlist.v1', null, null),
      line('ree.quotas.v1', 'Q1', { quotaId: 'Q1', producerId: 'P7', year: 2025, materials: ['REE_CONCENTRATE'], quotaKg: 1000, issuedAt: at(D0) }),
      line('ree.quotas.v1', 'Q2', { quotaId: 'Q2', producerId: 'P7', year: 2025, materials: [], quotaKg: 1000, issuedAt: at(D0) }),
    ]);
    expect(alerts).toEqual([]);
    expect(dead.map((d) => [d.lineNo, d.reason.includes('entryId') || d.reason.includes('materials')])).toEqual([
      [3, true],
      [5, true],
    ]);
    expect(summary).toMatchObject({ lines: 5, watchlist: 2, quotas: 1, skipped: 0, deadLetters: 2 });
  });
});

describe('replay: determinism', () => {
  /**
   * Two weeks of ten producers (and a silent month), enough to fire every rule this version runs: P1 makes magnets from
   * nothing and exports them under a 150 kg licence until it is over quota and then revoked, P2
   * exports with no licence, P3 ships oxide it never produced (a deficit once the grace period
   * passes) and declares stock it lacks (P4 receives one of those transfers 5 kg short), P5 exports
   * plain magnets as nickel powder, through Hong Kong, for next to nothing, and to a restricted
   * party; P6 separates more oxide than its 1 t quota for the year, sends a lot eight times its
   * usual and four parcels to one client; P8 reports for a week and falls silent. One shipment is
   * delivered twice, as Kafka may.
   */
  function twoWeeks(): string[] {
    const lines = [
      rec.licence(licence({ quotaKg: 150 })),
      rec.watchlist({ entryId: 'W-1', name: 'Zhang Weihong Trading Co., Ltd.', aliases: [], country: 'HK', reason: 'test', listedAt: at(D0, 1) }),
      rec.production(production({ quantityKg: 2000, occurredAt: at(D0, 6) })),
      rec.quota({ quotaId: 'Q-P6', producerId: 'P6', year: 2025, materials: ['NDPR_OXIDE'], quotaKg: 1000, issuedAt: at(D0 - 11, 0) }),
    ];
    const oxide = { producerId: 'P6', stage: 'SEPARATION' as const, material: 'NDPR_OXIDE' };
    for (const day of [1, 3]) lines.push(rec.production(production({ ...oxide, quantityKg: 600, occurredAt: at(D0 + day, 7) })));
    const plain = { producerId: 'P5', clientId: 'C5', material: 'NDFEB_MAGNET', licenceId: null, quantityKg: 20 };
    lines.push(
      rec.shipment(shipment({ ...plain, hsCode: '7504001000', occurredAt: at(D0 + 1, 9) })),
      rec.shipment(shipment({ ...plain, destinationCountry: 'HK', occurredAt: at(D0 + 2, 9) })),
      rec.shipment(shipment({ ...plain, declaredValueUsd: 20, occurredAt: at(D0 + 3, 9) })),
      rec.shipment(shipment({ ...plain, clientId: 'C6', clientName: 'Chang Wei-Hong Trading Ltd', occurredAt: at(D0 + 4, 9) })),
    );
    // P6: eight 500 kg lots, then 4 t (volume-spike), and four 10 kg parcels to one client (split-shipments).
    const p6 = { producerId: 'P6', clientId: 'C7', material: 'NDFEB_MAGNET', licenceId: null, quantityKg: 500 };
    for (let k = 0; k < 8; k += 1) lines.push(rec.shipment(shipment({ ...p6, occurredAt: at(D0 + Math.floor(k / 2), 8 + k % 2) })));
    lines.push(rec.shipment(shipment({ ...p6, quantityKg: 4000, occurredAt: at(D0 + 4, 8) })));
    for (let d = 1; d <= 4; d += 1) lines.push(rec.shipment(shipment({ ...p6, clientId: 'C8', quantityKg: 10, transportMode: 'COURIER', occurredAt: at(D0 + d, 16) })));
    let redelivered: string | undefined;
    for (let d = 0; d < 14; d += 1) {
      if (d === 9) lines.push(rec.licence(licence({ quotaKg: 150, status: 'REVOKED' })));
      const p1 = rec.shipment(shipment({ quantityKg: 40, occurredAt: at(D0 + d, 9) }));
      lines.push(p1);
      if (d === 3) redelivered = p1;
      if (d % 3 === 0) lines.push(rec.shipment(shipment({ producerId: 'P2', licenceId: null, clientId: 'C2', quantityKg: 25, occurredAt: at(D0 + d, 10) })));
      const transfer = shipment({ producerId: 'P3', direction: 'DOMESTIC', clientId: 'P4', clientName: 'Plant Four', clientCountry: 'CN', destinationCountry: 'CN', licenceId: null, material: 'DY_OXIDE', quantityKg: 10 + d, occurredAt: at(D0 + d, 11) });
      lines.push(rec.shipment(transfer));
      // P4 receives one of them 5 kg short (custody-gap).
      if (d === 2) lines.push(rec.receipt(receipt({ producerId: 'P4', supplierId: 'P3', shipmentId: transfer.shipmentId, material: 'DY_OXIDE', quantityKg: 7, occurredAt: at(D0 + 3, 8) })));
      if (d % 4 === 2) lines.push(rec.inventory(inventory({ producerId: 'P3', material: 'DY_OXIDE', onHandKg: 500, occurredAt: at(D0 + d, 20) })));
      if (d === 5) lines.push(redelivered!);
    }
    // A mine's run at the end moves the production topic's event time on, so the watermark (the
    // least of the topics', less 72 h) passes P6's exports and the rules that wait for it judge them.
    lines.push(rec.production(production({ producerId: 'P7', stage: 'MINING', material: 'REE_CONCENTRATE', quantityKg: 5000, occurredAt: at(D0 + 13, 6) })));
    // P8, a mine that reported daily for a week, then goes silent (reporting-gap) while P9 and P10
    // carry every report topic on to day 32, so the watermark passes P8's allowed 21 days.
    const mine8 = { producerId: 'P8', stage: 'MINING' as const, material: 'REE_CONCENTRATE', quantityKg: 1000 };
    for (let d = 0; d < 7; d += 1) lines.push(rec.production(production({ ...mine8, occurredAt: at(D0 + d, 5) })));
    const late = at(D0 + 32, 6);
    const sale = shipment({ producerId: 'P9', direction: 'DOMESTIC', clientId: 'P10', clientName: 'Plant Ten', clientCountry: 'CN', destinationCountry: 'CN', licenceId: null, material: 'REE_CONCENTRATE', quantityKg: 100, occurredAt: late + 3 * HOUR_MS });
    lines.push(
      rec.production(production({ producerId: 'P9', stage: 'MINING', material: 'REE_CONCENTRATE', quantityKg: 5000, occurredAt: late })),
      rec.shipment(sale),
      rec.receipt(receipt({ producerId: 'P10', supplierId: 'P9', shipmentId: sale.shipmentId, material: 'REE_CONCENTRATE', quantityKg: 100, occurredAt: late + 9 * HOUR_MS })),
      rec.inventory(inventory({ producerId: 'P9', material: 'REE_CONCENTRATE', onHandKg: 4900, occurredAt: late + 14 * HOUR_MS })),
    );
    return lines;
  }

  // What a subscriber ends up holding: each alert at its latest revision, every field but
  // detectedAt, by alertId. Which batch a watermark timer fires in, and so how many intermediate
  // revisions of a growing finding go out (at most one per batch), depends on the batch size;
  // the findings and their final versions must not.
  const held = (alerts: Alert[]) => {
    const latest = new Map<string, Omit<Alert, 'detectedAt'>>();
    for (const { detectedAt: _, ...rest } of alerts) if ((latest.get(rest.alertId)?.revision ?? 0) < (rest.revision ?? 1)) latest.set(rest.alertId, rest);
    return [...latest.values()].sort((a, b) => (a.alertId < b.alertId ? -1 : 1));
  };
  const withoutCounts = ({ seconds: _s, alerts: _a, alertsByRule: _r, ...rest }: ReplaySummary) => rest;

  it('gives the same alerts, every field but detectedAt, on two replays and at batch sizes 1, 7 and 2000', async () => {
    const lines = twoWeeks();
    const first = await replay(lines, 2000);
    expect(first.dead).toEqual([]);
    // The recording is only a test of determinism if it exercises every rule.
    expect(new Set(first.alerts.map((a) => a.ruleId))).toEqual(new Set(RULES.map((r) => r.id)));
    const versions = first.alerts.map((a) => `${a.alertId}#${a.revision ?? 1}`);
    expect(new Set(versions).size).toBe(versions.length);

    for (const batchSize of [2000, 1, 7]) {
      const again = await replay(lines, batchSize);
      expect(held(again.alerts), `batch size ${batchSize}`).toEqual(held(first.alerts));
      expect(withoutCounts(again.summary)).toEqual(withoutCounts(first.summary));
    }
    // On an engine that saves every batch without waiting, evicting and reloading producers as it goes.
    const overlapped = await replay(lines, 7, createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 2, overlapSaves: true }));
    expect(held(overlapped.alerts)).toEqual(held(first.alerts));
    expect(withoutCounts(overlapped.summary)).toEqual(withoutCounts(first.summary));
    // On engines that save only at checkpoints: every 10 reports, and only when eviction needs it.
    for (const checkpointEvery of [10, undefined]) {
      const deferred = await replay(lines, 7, createEngineMemoryStore({ durability: createMemoryDurability(), maxCachedProducers: 2, deferSaves: true }), checkpointEvery);
      expect(held(deferred.alerts), `checkpoint every ${checkpointEvery}`).toEqual(held(first.alerts));
      expect(withoutCounts(deferred.summary)).toEqual(withoutCounts(first.summary));
    }
    // The same batch size gives the very same publications, in the same order.
    const twice = await replay(lines, 7);
    const once = await replay(lines, 7);
    expect(twice.alerts.map(({ detectedAt: _, ...rest }) => rest)).toEqual(once.alerts.map(({ detectedAt: _, ...rest }) => rest));
  });
});

describe('replay on an engine that overlaps its saves', () => {
  it('fails when a save it did not wait for fails, even if no batch comes after it', async () => {
    const durability = createMemoryDurability();
    // Refused a moment later: after the replay's last batch has run, so only the settling sees it.
    durability.save = () => new Promise((_, reject) => setTimeout(() => reject(new Error('Redis went away')), 20));
    const store = createEngineMemoryStore({ durability, overlapSaves: true });
    await expect(replay([rec.shipment(shipment())], 2000, store)).rejects.toThrow('Redis went away');
  });
});

describe('replay on an engine that saves at checkpoints (deferSaves, replay --redis)', () => {
  /** Durability that counts saves and the producers in each. */
  function countedDurability() {
    const durability = createMemoryDurability();
    const save = durability.save.bind(durability);
    const saves: string[][] = [];
    durability.save = (changes) => {
      saves.push([...changes.keys()].sort());
      return save(changes);
    };
    return { durability, saves };
  }
  const lines = Array.from({ length: 30 }, (_, d) => rec.shipment(shipment({ producerId: `P${d % 3}`, licenceId: null, clientId: 'C1', quantityKg: 10, occurredAt: at(D0 + d, 9) })));

  it('saves once per checkpoint, each producer once with its latest state, and once more at the end', async () => {
    const { durability, saves } = countedDurability();
    const store = createEngineMemoryStore({ durability, deferSaves: true });
    await replay(lines, 5, store, 12);
    // Batches of 5: checkpoints after 15 and 30 reports (the end's checkpoint then has nothing left).
    expect(saves).toEqual([
      ['P0', 'P1', 'P2'],
      ['P0', 'P1', 'P2'],
    ]);
    // What was saved is each producer's state after its last report: a fresh engine reading it back
    // takes a redelivered report as already applied.
    const fresh = createEngineMemoryStore({ durability });
    const last = (JSON.parse(lines[29]!) as { value: ShipmentReport }).value;
    const [result] = await fresh.applyBatch([{ reportId: last.reportId, producerId: last.producerId, occurredAt: last.occurredAt, flows: [], graceMs: 0 }]);
    expect(result).toMatchObject({ duplicate: true });
  });

  it('saves at the end only, by default, for a recording shorter than the interval (DEFAULT_CHECKPOINT_REPORTS)', async () => {
    const { durability, saves } = countedDurability();
    await replay(lines, 5, createEngineMemoryStore({ durability, deferSaves: true }));
    expect(saves).toHaveLength(1);
    expect(durability.fieldCount('P0')).toBeGreaterThan(0);
  });
});

describe('readRecording', () => {
  it('yields every line even when the caller awaits something before iterating', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const { readRecording: read } = await import('../../src/pipeline/recording.ts');
    const path = join(mkdtempSync(join(tmpdir(), 'ree-rec-')), 'rec.jsonl');
    const n = 50_000;
    writeFileSync(path, Array.from({ length: n }, (_, i) => JSON.stringify({ topic: 'ree.watchlist.v1', key: `k${i}`, timestamp: i, value: null })).join('\n') + '\n');
    const reader = read(path);
    // What `replay --redis` does: connect to Redis first, then read.
    await new Promise((r) => setTimeout(r, 100));
    let count = 0;
    for await (const parsed of reader.lines) if (parsed.ok) count += 1;
    expect(count).toBe(n);
    expect(reader.bytesRead()).toBe(reader.totalBytes);
  });
});
