/**
 * split-shipments' stored state (its published groups and window chains) written byte for byte as
 * the code before the shared keyed-list cell wrote it, and state saved then read back: the texts in
 * test/fixtures/split-shipments-stored.json were captured from main before that change.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Report, ShipmentReport } from '../../../src/domain/events.ts';
import { DAY_MS } from '../../../src/domain/time.ts';
import { splitShipments, splitShipmentsParams } from '../../../src/rules/split-shipments.ts';
import { ProducerState } from '../../../src/state/engine/producer-state.ts';
import { at, D0, paramsFrom, reports } from '../../helpers/builders.ts';
import { ruleHarness } from '../../helpers/rule-harness.ts';

interface Stored {
  /** Per checkpoint: the watermark it moves to and the rule's fields written then (null: deleted). */
  checkpoints: { watermark: number; fields: Record<string, string | null> }[];
  /** Every field of the producer as saved after the second checkpoint. */
  savedAfterSecond: Record<string, string>;
}

const stored = JSON.parse(readFileSync(new URL('../../fixtures/split-shipments-stored.json', import.meta.url), 'utf8')) as Stored;

// Fixed ids (the builders number theirs per test file), parcels only: every group is small under
// the material's threshold, so the texts do not depend on how "small by the usual" is judged.
let n = 0;
const parcel = (day: number, hour: number, o: Partial<ShipmentReport>): Report => {
  n += 1;
  const id = String(n).padStart(4, '0');
  return reports.shipments({ reportId: `SHP-S-${id}`, shipmentId: `S-${id}`, licenceId: null, transportMode: 'COURIER', material: 'NDFEB_MAGNET', quantityKg: 15, occurredAt: at(D0 + day, hour), ...o });
};

/** Reports per checkpoint: groups to a client, to a destination across clients, of a second material, one that grows, and later ones that age the first out. */
const steps: { reports: Report[]; watermark: number }[] = [
  {
    reports: [
      ...[0, 1, 2, 3].map((d) => parcel(d, 10, {})),
      ...[1, 2, 3, 4].map((d) => parcel(d, 14, { clientId: d % 2 ? 'C2' : 'C3', destinationCountry: 'AE', clientCountry: 'AE' })),
      ...[2, 3, 4, 5].map((d) => parcel(d, 9, { material: 'TB_OXIDE', quantityKg: 0.5, clientId: 'C4', destinationCountry: 'JP', clientCountry: 'JP' })),
    ],
    watermark: at(D0 + 4, 0),
  },
  { reports: [parcel(5, 10, {}), parcel(10, 10, {})], watermark: at(D0 + 11, 0) },
  { reports: [...[45, 46, 47, 48].map((d) => parcel(d, 10, {})), parcel(49, 10, { material: 'TB_OXIDE', quantityKg: 0.5, clientId: 'C4' })], watermark: at(D0 + 50, 0) },
  // Long after: every group ages out (its field deleted), one parcel opens a chain.
  { reports: [parcel(100, 10, { clientId: 'C5' })], watermark: at(D0 + 101, 0) },
];

/** What the scenario finds: three groups, the first grown once, one of TB oxide, a new one after the first aged out. */
const REVISIONS = ['client NDFEB_MAGNET 1', 'client NDFEB_MAGNET 2', 'destination NDFEB_MAGNET 1', 'client TB_OXIDE 1', 'client NDFEB_MAGNET 1'];
const params = paramsFrom(splitShipmentsParams);
const LATENESS = 60 * DAY_MS;
/** The two cells the shared keyed-list cell now holds (the settled exports are another file's). */
const CELLS = new Set(['rule:split-shipments:groups', 'rule:split-shipments:chains']);
const splitFields = (changes: Map<string, string | null>) => Object.fromEntries([...changes].filter(([field]) => CELLS.has(field)));

function runAll() {
  const h = ruleHarness(splitShipments, params, { allowedLatenessMs: LATENESS });
  const checkpoints: Stored['checkpoints'] = [];
  const saved = new Map<string, string>();
  const draftsAfter: number[] = [];
  for (const step of steps) {
    h.feed(step.reports);
    h.advanceTo(step.watermark);
    const changes = h.states.get('P1')!.drainChanges();
    for (const [field, text] of changes) {
      if (text === null) saved.delete(field);
      else saved.set(field, text);
    }
    checkpoints.push({ watermark: step.watermark, fields: splitFields(changes) });
    if (checkpoints.length === 2) draftsAfter.push(h.drafts.length);
  }
  return { h, checkpoints, draftsAfterSecond: draftsAfter[0]! };
}

describe('split-shipments stored state', () => {
  it('writes the groups and chains as the earlier code did, deletions included', () => {
    const { checkpoints, h } = runAll();
    expect(checkpoints).toEqual(stored.checkpoints);
    // The scenario reaches what it is meant to: groups published, one grown, old ones aged out.
    expect(h.drafts.map((d) => `${d.evidence.groupBy} ${d.evidence.material} ${d.revision}`)).toEqual(REVISIONS);
    expect(checkpoints[3]!.fields['rule:split-shipments:groups']).toBeNull();
  });

  it('reads state saved by the earlier code and goes on to the same findings', () => {
    const whole = runAll();
    const h = ruleHarness(splitShipments, params, { allowedLatenessMs: LATENESS });
    h.states.set('P1', new ProducerState('P1', new Map(Object.entries(stored.savedAfterSecond))));
    h.advanceTo(steps[1]!.watermark);
    for (const [i, step] of steps.entries()) {
      if (i < 2) continue;
      h.feed(step.reports);
      h.advanceTo(step.watermark);
      expect(splitFields(h.states.get('P1')!.drainChanges())).toEqual(stored.checkpoints[i]!.fields);
    }
    expect(h.drafts).toEqual(whole.h.drafts.slice(whole.draftsAfterSecond));
    expect(h.drafts.length).toBeGreaterThan(0);
  });
});
