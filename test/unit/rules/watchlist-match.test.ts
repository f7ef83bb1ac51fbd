import { describe, expect, it } from 'vitest';
import type { ShipmentReport, WatchlistEntry } from '../../../src/domain/events.ts';
import { retroScreen, watchlistMatch, watchlistMatchParams } from '../../../src/rules/watchlist-match.ts';
import { buildWatchlistIndex } from '../../../src/screening/watchlist-index.ts';
import type { ClientSighting } from '../../../src/state/store.ts';
import { D0, at, paramsFrom, reports, ruleInput, shipment } from '../../helpers/builders.ts';
import { expectOneSentence } from '../../helpers/expect-sentence.ts';

const ENTRY: WatchlistEntry = {
  entryId: 'W-1',
  name: 'Zhang Weihong Trading Co., Ltd.',
  aliases: ['Cheung Wai Hung Trading Limited'],
  country: 'HK',
  reason: 'diversion of controlled rare earths',
  listedAt: at(D0 - 10),
};
const params = (raw: Record<string, unknown> = {}) => paramsFrom(watchlistMatchParams, raw);
const evaluate = (o: Partial<ShipmentReport>, entries: WatchlistEntry[] = [ENTRY], raw: Record<string, unknown> = {}) =>
  watchlistMatch.evaluate(ruleInput(reports.shipments(o), { watchlist: buildWatchlistIndex(entries) }), params(raw));

describe('watchlist-match parameters', () => {
  it('defaults to a 0.88 name score, 0.9 per token and two tokens', () => {
    expect(watchlistMatchParams.parse({})).toEqual({ threshold: 0.88, tokenThreshold: 0.9, minMatchedTokens: 2 });
  });

  it.each([
    ['a threshold above 1', { threshold: 1.2 }, 'threshold'],
    ['a threshold so low anything matches', { threshold: 0.2 }, 'threshold'],
    ['zero matched tokens', { minMatchedTokens: 0 }, 'minMatchedTokens'],
  ])('rejects %s', (_, raw, field) => {
    const result = watchlistMatchParams.safeParse(raw);
    expect(result.success).toBe(false);
    expect(result.error!.issues[0]!.path[0]).toBe(field);
  });
});

describe('watchlist-match on a shipment', () => {
  it('shows the entry, the matched alias, both normalised forms and the score', () => {
    const [draft] = evaluate({ reportId: 'ship-3', clientId: 'C7', clientName: 'CHEUNG WAI-HUNG TRADING LTD' });
    expect(draft).toMatchObject({ findingKey: 'W-1|P1|C7', subjectEventIds: ['ship-3'], clientId: 'C7', producerId: 'P1', score: 1 });
    expect(draft!.evidence).toMatchObject({
      entryId: 'W-1',
      entryName: 'Zhang Weihong Trading Co., Ltd.',
      matchedName: 'Cheung Wai Hung Trading Limited',
      matchedNormalised: 'cheung wai hung',
      clientName: 'CHEUNG WAI-HUNG TRADING LTD',
      clientNormalised: 'cheung wai hung',
      score: '1',
      threshold: '0.88',
      entryCountry: 'HK',
    });
    expect(draft!.summary).toBe(
      'P1 exports to "CHEUNG WAI-HUNG TRADING LTD", which matches restricted party "Zhang Weihong Trading Co., Ltd." (W-1, HK) as "Cheung Wai Hung Trading Limited" with score 1; listed for: diversion of controlled rare earths.',
    );
    expectOneSentence(draft!.summary);
  });

  it('finds nothing on an empty watchlist, a domestic transfer or another report', () => {
    expect(evaluate({ clientName: 'Zhang Weihong' }, [])).toEqual([]);
    expect(evaluate({ clientName: 'Zhang Weihong', direction: 'DOMESTIC' })).toEqual([]);
    expect(watchlistMatch.evaluate(ruleInput(reports.production(), { watchlist: buildWatchlistIndex([ENTRY]) }), params())).toEqual([]);
  });

  // Score sits exactly at the bar for "Chen Xiaoming" vs "Chen Xiaoping" unsplit: 0.9722.
  it.each<[string, number, boolean]>([
    ['threshold just under the score', 0.972, true],
    ['threshold just over the score', 0.973, false],
  ])('%s', (_, threshold, fires) => {
    const entry = { ...ENTRY, entryId: 'W-2', name: 'Chen Xiaoming', aliases: [] };
    expect(evaluate({ clientName: 'Chen Xiaoping' }, [entry], { threshold })).toHaveLength(fires ? 1 : 0);
  });

  it('lets an operator allow a match on one token', () => {
    const entry = { ...ENTRY, entryId: 'W-3', name: 'Rosatom', aliases: [] };
    expect(evaluate({ clientName: 'Rosatom Overseas' }, [entry])).toEqual([]);
    expect(evaluate({ clientName: 'Rosatom Overseas' }, [entry], { minMatchedTokens: 1, threshold: 0.5 })).toHaveLength(1);
  });
});

describe('watchlist-match retro-screening', () => {
  const sighting = (o: Partial<ClientSighting>): ClientSighting => ({
    clientId: 'C7',
    clientName: 'Chang Wei-Hong Ltd',
    producerId: 'P1',
    reportId: 'ship-1',
    occurredAt: at(D0),
    material: 'NDFEB_DY_MAGNET',
    ...o,
  });

  it('gives the same finding, alert for alert, whichever came first', () => {
    const event = shipment({ reportId: 'ship-1', clientId: 'C7', clientName: 'Chang Wei-Hong Ltd', occurredAt: at(D0) });
    const [live] = watchlistMatch.evaluate(ruleInput({ kind: 'shipments', event }, { watchlist: buildWatchlistIndex([ENTRY]) }), params());
    const [retro] = retroScreen(ENTRY, [sighting({})], () => params());
    expect(retro).toEqual(live);
  });

  it('makes one finding per producer and client, subject its earliest matching shipment', () => {
    const drafts = retroScreen(
      ENTRY,
      [
        sighting({ clientName: 'Zhang Wei Hong', reportId: 'ship-2', occurredAt: at(D0 + 2) }),
        sighting({ clientName: 'Chang Wei-Hong Ltd', reportId: 'ship-1', occurredAt: at(D0) }),
        sighting({ producerId: 'P2', clientName: 'Zhang Wei Hong', reportId: 'ship-5', occurredAt: at(D0 + 5) }),
        sighting({ clientId: 'C8', clientName: 'Zhang Magnetics GmbH', reportId: 'ship-9' }),
      ],
      () => params(),
    );
    expect(drafts.map((d) => [d.findingKey, d.subjectEventIds])).toEqual([
      ['W-1|P1|C7', ['ship-1']],
      ['W-1|P2|C7', ['ship-5']],
    ]);
  });

  it('screens each sighting with its material\'s parameters and skips materials the rule is off for', () => {
    // The name agrees on two tokens: demanding five for one material rejects its shipments only.
    const strictForDy = paramsFrom(watchlistMatchParams, {}, { DY_OXIDE: { minMatchedTokens: 5 } });
    const clients = [
      sighting({ clientName: 'Zhang Wei Hong', reportId: 'ship-1', occurredAt: at(D0), material: 'DY_OXIDE' }),
      sighting({ clientName: 'Zhang Wei Hong', reportId: 'ship-2', occurredAt: at(D0 + 1), material: 'TB_OXIDE' }),
      sighting({ clientName: 'Zhang Wei Hong', reportId: 'ship-3', occurredAt: at(D0 + 2), material: 'NDFEB_DY_MAGNET' }),
    ];
    expect(retroScreen(ENTRY, clients, () => strictForDy).map((d) => d.subjectEventIds)).toEqual([['ship-2']]);
    const offForTb = (_: string, material: string) => material !== 'TB_OXIDE';
    expect(retroScreen(ENTRY, clients, () => strictForDy, offForTb).map((d) => [d.subjectEventIds, d.material])).toEqual([[['ship-3'], 'NDFEB_DY_MAGNET']]);
  });
});
