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

/** What a later version of the index takes over from this one: its entries and what it screened. */
interface Carried {
  entries: ReadonlyMap<string, string>;
  screened: ReadonlyMap<string, ScreeningHit[]>;
}
const carriedFrom = new WeakMap<WatchlistIndex, Carried>();

const contentOf = (entry: WatchlistEntry): string => JSON.stringify(entry);
const bestFirst = (x: ScreeningHit, y: ScreeningHit): number => y.score - x.score || (x.entry.entryId < y.entry.entryId ? -1 : 1);

/**
 * `previous`: the index of the watchlist before this change. A client's hits are per entry (an
 * entry's best-matching name, whatever the other entries), so the names it screened carry over:
 * only the entries added, changed or removed since are screened again. A watchlist changes one
 * entry at a time, and re-screening every client name against the whole list at each change
 * cost more than all other screening.
 */
export function buildWatchlistIndex(entries: readonly WatchlistEntry[], previous?: WatchlistIndex): WatchlistIndex {
  const byBlock = new Map<string, IndexedName[]>();
  for (const entry of entries) {
    for (const name of [entry.name, ...entry.aliases]) {
      const normalised = normaliseName(name);
      const indexed: IndexedName = { entry, name, normalised: normalised.text, forms: tokenForms(normalised) };
      for (const key of new Set(indexed.forms.flat().flatMap(blockKeys))) byBlock.set(key, [...(byBlock.get(key) ?? []), indexed]);
    }
  }
  const contents = new Map(entries.map((e) => [e.entryId, contentOf(e)]));
  const byId = new Map(entries.map((e) => [e.entryId, e]));
  // Exporters ship to the same clients again and again: screen each name once per watchlist version.
  const screened = new Map<string, ScreeningHit[]>();
  const MAX_SCREENED = 50_000;
  const before = previous ? carriedFrom.get(previous) : undefined;
  /** Entries whose hits from `before` no longer hold: added, changed or removed since. */
  const changed = new Set<string>();
  if (before) {
    for (const [id, content] of contents) if (before.entries.get(id) !== content) changed.add(id);
    for (const id of before.entries.keys()) if (!contents.has(id)) changed.add(id);
  }

  /** Each matching entry's best name; with `only`, just those entries. */
  function screenUncached(clientName: string, settings: MatchSettings, only?: ReadonlySet<string>): ScreeningHit[] {
    const client = normaliseName(clientName);
    const forms = tokenForms(client);
    const candidates = new Set(forms.flat().flatMap(blockKeys).flatMap((key) => byBlock.get(key) ?? []));
    const best = new Map<string, ScreeningHit>();
    for (const c of candidates) {
      if (only && !only.has(c.entry.entryId)) continue;
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
    return [...best.values()];
  }

  /** The hits from before the change for the entries that did not change, and fresh ones for those that did. */
  function screenCarried(clientName: string, settings: MatchSettings, held: readonly ScreeningHit[]): ScreeningHit[] {
    const kept = held.filter((h) => !changed.has(h.entry.entryId)).map((h) => ({ ...h, entry: byId.get(h.entry.entryId)! }));
    return changed.size === 0 ? kept : [...kept, ...screenUncached(clientName, settings, changed)];
  }

  const index: WatchlistIndex = {
    size: entries.length,
    screen(clientName, settings) {
      const key = `${settings.threshold}|${settings.tokenThreshold}|${settings.minMatchedTokens}|${clientName}`;
      let hits = screened.get(key);
      if (!hits) {
        if (screened.size >= MAX_SCREENED) screened.clear();
        const held = before?.screened.get(key);
        hits = (held ? screenCarried(clientName, settings, held) : screenUncached(clientName, settings)).sort(bestFirst);
        screened.set(key, hits);
      }
      return hits;
    },
  };
  carriedFrom.set(index, { entries: contents, screened });
  return index;
}
