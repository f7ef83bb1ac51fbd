/**
 * The watchlist prepared for screening: every name and alias normalised once, and indexed by
 * block keys (a token's first two letters and its romanisation groups) so a client name is only
 * compared with entries that share at least one plausible token.
 */
import type { WatchlistEntry } from '../domain/events.ts';
import { betterComparison, compareForms, tokenForms, type MatchSettings, type NameComparison } from './match-name.ts';
import { normaliseName } from './normalise-name.ts';
import { variantGroups } from './romanisation.ts';

export interface ScreeningHit {
  entry: WatchlistEntry;
  /** The entry's name or alias that matched, as listed. */
  matchedName: string;
  matchedNormalised: string;
  clientNormalised: string;
  score: number;
  matchedTokens: number;
  comparison: NameComparison;
}

interface IndexedName {
  entry: WatchlistEntry;
  name: string;
  normalised: string;
  forms: string[][];
}

const blockKeys = (token: string): string[] => [`p:${token.slice(0, 2)}`, ...variantGroups(token).map((g) => `g:${g}`)];

export interface WatchlistIndex {
  readonly size: number;
  /** The best-matching name of each entry that matches, best first (ties by entryId). */
  screen(clientName: string, settings: MatchSettings): ScreeningHit[];
}

export function buildWatchlistIndex(entries: readonly WatchlistEntry[]): WatchlistIndex {
  const byBlock = new Map<string, IndexedName[]>();
  for (const entry of entries) {
    for (const name of [entry.name, ...entry.aliases]) {
      const normalised = normaliseName(name);
      const indexed: IndexedName = { entry, name, normalised: normalised.text, forms: tokenForms(normalised) };
      for (const key of new Set(indexed.forms.flat().flatMap(blockKeys))) byBlock.set(key, [...(byBlock.get(key) ?? []), indexed]);
    }
  }
  // Exporters ship to the same clients again and again: screen each name once per watchlist version.
  const screened = new Map<string, ScreeningHit[]>();
  const MAX_SCREENED = 50_000;

  function screenUncached(clientName: string, settings: MatchSettings): ScreeningHit[] {
    const client = normaliseName(clientName);
    const forms = tokenForms(client);
    const candidates = new Set(forms.flat().flatMap(blockKeys).flatMap((key) => byBlock.get(key) ?? []));
    const best = new Map<string, ScreeningHit>();
    for (const c of candidates) {
      const result = compareForms(forms, c.forms, settings);
      if (!result.isMatch) continue;
      const known = best.get(c.entry.entryId);
      // The entry's best name wins; at a full tie the name listed first (the name, then aliases in order).
      const order = (n: string) => [c.entry.name, ...c.entry.aliases].indexOf(n);
      if (known && !betterComparison(result, known.comparison) && (betterComparison(known.comparison, result) || order(known.matchedName) <= order(c.name))) continue;
      best.set(c.entry.entryId, {
        entry: c.entry,
        matchedName: c.name,
        matchedNormalised: c.normalised,
        clientNormalised: client.text,
        score: result.score,
        matchedTokens: result.matchedTokens,
        comparison: result,
      });
    }
    return [...best.values()].sort((x, y) => y.score - x.score || (x.entry.entryId < y.entry.entryId ? -1 : 1));
  }

  return {
    size: entries.length,
    screen(clientName, settings) {
      const key = `${settings.threshold}|${settings.tokenThreshold}|${settings.minMatchedTokens}|${clientName}`;
      let hits = screened.get(key);
      if (!hits) {
        if (screened.size >= MAX_SCREENED) screened.clear();
        hits = screenUncached(clientName, settings);
        screened.set(key, hits);
      }
      return hits;
    },
  };
}
