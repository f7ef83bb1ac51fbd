/**
 * A hand-made recording of the real cases in RULE-EVIDENCE.md (test/fixtures/real-world-cases.jsonl):
 * Dy-NdFeB declared as 8505119000, Tb oxide as nickel powder (HS 7504), 4,000 kg of magnets at
 * ~$27.7/kg next to 533 kg of Dy-NdFeB at a plausible ~$54.6/kg, a licence for Oman with ten
 * shipments to India, restricted parties under other romanisations (listed before and after the
 * export) and look-alike names that must not match; a separation plant over its 500 t oxide quota, a
 * quota issued after the year's production passed it, a mine under its 1,200 t quota; a mine whose
 * first stock declaration is 14 t under what it reported mining, and one whose is above it; and
 * domestic transfers between three plants (RW-CG-*): received short, never, after grace, as another
 * material, and whole, late within grace or within the 2 % moisture of wet concentrate.
 * Also six 18 kg parcels by courier and post to one client (split-shipments), a 4,000 kg lot after
 * ten of ~0.5 t and 2.5 t as a first export to a new client (volume-spike), a new exporter's 5 t
 * with too little history; an exporter of ~1 t lots by sea switching to five 120 kg courier
 * parcels (split-shipments, small only against its usual lot), and one sending four smaller lots
 * by sea and rail in a week (ordinary: nothing). Every label is found, nothing else fires.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { backtest, type Label } from '../../src/backtest/score.ts';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import type { Alert } from '../../src/domain/events.ts';
import { readRecording } from '../../src/pipeline/recording.ts';
import { replayLines } from '../../src/pipeline/replay.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { testCatalogue } from '../helpers/builders.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const labels = readFileSync(new URL('real-world-cases.labels.jsonl', FIXTURES), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l) as Label);

describe('real-world cases', () => {
  it('finds every labelled case and raises nothing else', async () => {
    const alerts: Alert[] = [];
    const summary = await replayLines(readRecording(new URL('real-world-cases.jsonl', FIXTURES).pathname).lines, {
      store: createEngineMemoryStore(),
      rules: loadRulesFile(),
      catalogue: testCatalogue(),
      onAlerts: (a) => void alerts.push(...a),
    });
    expect(summary).toMatchObject({ deadLetters: 0, watchlist: 3, quotas: 3 });
    const result = backtest(alerts, labels);
    expect(result.overall).toMatchObject({ recall: 1, precision: 1 });
    expect(new Set(labels.map((l) => l.ruleId))).toEqual(new Set(['custody-gap', 'destination-mismatch', 'hs-misdeclaration', 'quota-overrun', 'split-shipments', 'undervaluation', 'volume-mismatch', 'volume-spike', 'watchlist-match', 'yield-anomaly']));
  });

  it('tells the investigator what each real case was', async () => {
    const alerts: Alert[] = [];
    await replayLines(readRecording(new URL('real-world-cases.jsonl', FIXTURES).pathname).lines, {
      store: createEngineMemoryStore(),
      rules: loadRulesFile(),
      catalogue: testCatalogue(),
      onAlerts: (a) => void alerts.push(...a),
    });
    const about = (ruleId: string, clientId: string) => alerts.filter((a) => a.ruleId === ruleId && a.clientId === clientId);
    expect(about('destination-mismatch', 'RW-C-OM').map((a) => a.evidence.licenceEndUserCountry + '>' + a.evidence.destinationCountry)).toEqual(Array(10).fill('OM>IN'));
    expect(about('hs-misdeclaration', 'RW-C-DE')[0]!.evidence).toMatchObject({ declaredHsCode: '8505119000', controlledElements: 'Dy,Tb', declaredAsControlled: 'false' });
    expect(about('hs-misdeclaration', 'RW-C-JP')[0]!.evidence).toMatchObject({ declaredAs: 'nickel powders and flakes' });
    expect(about('undervaluation', 'RW-C-US')[0]!.evidence).toMatchObject({ declaredUsdPerKg: '27.7', floorUsdPerKg: '30' });
    expect(about('watchlist-match', 'RW-C-SG1')[0]!.evidence).toMatchObject({ entryId: 'RW-W-3', clientNormalised: 'chan siu ming magnetics' });
    expect(about('watchlist-match', 'RW-C-AE1')[0]!.evidence).toMatchObject({ matchedName: 'Wong Kin Kwok' });
    expect(about('custody-gap', 'RW-CG-MET').map((a) => `${a.evidence.check}:${a.evidence.shipmentId}`).sort()).toEqual([
      'missing-receipt:RW-CG-SH-4',
      'missing-receipt:RW-CG-SH-7',
      'receipt-mismatch:RW-CG-SH-3',
      'receipt-mismatch:RW-CG-SH-5',
      'receipt-mismatch:RW-CG-SH-9',
    ]);
    const of = (ruleId: string, producerId: string) => alerts.filter((a) => a.ruleId === ruleId && a.producerId === producerId);
    expect(of('volume-mismatch', 'volume-mismatch-P-MINE').map((a) => a.evidence)).toMatchObject([{ check: 'first-declaration', impliedOpeningStockKg: '-14000' }]);
    // The plant's overrun grows: the crossing Dy oxide run, then the next NdPr run (revision 2). Both
    // are in one replay batch, and a finding is published at most once per batch: at its latest.
    expect(of('quota-overrun', 'quota-overrun-P-SEP').map((a) => [a.revision, a.evidence.producedKg, a.subjectEventIds[0]])).toEqual([[2, '550000', 'quota-overrun-PRD-3']]);
    expect(of('quota-overrun', 'quota-overrun-P-LATE')[0]!.evidence).toMatchObject({ overBeforeQuotaKnown: 'true', producedKg: '620000' });
    // The latest revision of the parcel group holds all six parcels.
    const parcels = about('split-shipments', 'RW-C-PARCEL').sort((a, b) => (b.revision ?? 1) - (a.revision ?? 1))[0]!;
    expect(parcels.evidence).toMatchObject({ shipments: '6', totalKg: '108', courierOrPost: '6', smallBy: 'material' });
    // An exporter of ~1 t lots by sea switching to 120 kg courier parcels: small only against its
    // usual lot, a split because they go by courier; four smaller lots by sea and rail are not.
    const couriers = about('split-shipments', 'RW-C-FR').sort((a, b) => (b.revision ?? 1) - (a.revision ?? 1))[0]!;
    expect(couriers.evidence).toMatchObject({ shipments: '5', totalKg: '600', courierOrPost: '5', smallBy: 'usual', usualKg: '1000', usualTotalShare: '1' });
    expect(alerts.filter((a) => a.producerId === 'RW-P-SLOW')).toEqual([]);
    expect(about('volume-spike', 'RW-C-KR')[0]!.evidence).toMatchObject({ checks: 'baseline', historyMedianKg: '507.5', historyExports: '10' });
    expect(about('volume-spike', 'RW-C-NEWMX')[0]!.evidence).toMatchObject({ checks: 'new-client', newClient: 'true' });
    // Three lots are not a history: the new exporter's 5 t raises nothing.
    expect(alerts.filter((a) => a.producerId === 'RW-P-NEWCO')).toEqual([]);
  });
});
