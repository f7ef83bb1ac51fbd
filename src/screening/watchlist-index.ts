/**
 * The watchlist prepared for screening: every name and alias normalised once, and indexed by
 * block keys (a token's first two letters and its romanisation groups) so a client name is only
 * compared with entries that share at least one plausible token.
 */
import type { WatchlistEntry } from '../domain/events.ts';
import { betterComparison, compareForms, tokenForms, type MatchSettings, type NameComparison } from './match-name.ts';
import { normaliseName, type NormalisedName } from './normalise-name.ts';
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

/**
 * What the versions of one watchlist share: each version's changes from the one before (entry ids
 * added, changed or removed) and every client name screened, with the version it was screened at.
 */
interface Screenings {
  /** The newest version's index, and the content of each of its entries by entryId. */
  newest: WatchlistIndex | undefined;
  contents: ReadonlyMap<string, string>;
  /** The newest version's number. */
  version: number;
  /** Entry ids changed by each recent version, by its number (older ones are forgotten). */
  changes: Map<number, ReadonlySet<string>>;
  byName: Map<string, { version: number; hits: ScreeningHit[] }>;
}
const screeningsOf = new WeakMap<WatchlistIndex, Screenings>();

/** Versions of changes kept: a name unscreened for longer is screened again in full. */
const CHANGES_KEPT = 256;
const MAX_SCREENED = 50_000;

const contentOf = (entry: WatchlistEntry): string => JSON.stringify(entry);
const bestFirst = (x: ScreeningHit, y: ScreeningHit): number => y.score - x.score || (x.entry.entryId < y.entry.entryId ? -1 : 1);

/** A client name as screening compares it, and its block keys. */
interface ScreenedClient {
  client: NormalisedName;
  forms: string[][];
  keys: string[];
}

/**
 * Client names normalised once for every index (pure, so shared): a new watchlist entry is
 * screened against every client seen so far (retroScreen), and normalising the names again for
 * each entry cost more than comparing them.
 */
const clients = new Map<string, ScreenedClient>();

function clientOf(name: string): ScreenedClient {
  let known = clients.get(name);
  if (known === undefined) {
    const client = normaliseName(name);
    const forms = tokenForms(client);
    known = { client, forms, keys: forms.flat().flatMap(blockKeys) };
    if (clients.size >= MAX_SCREENED) clients.clear();
    clients.set(name, known);
  }
  return known;
}

/** The entries changed from version `from` to `to`, or undefined if those changes are forgotten. */
function changedSince(screenings: Screenings, from: number, to: number): Set<string> | undefined {
  const changed = new Set<string>();
  for (let v = from + 1; v <= to; v += 1) {
    const ids = screenings.changes.get(v);
    if (!ids) return undefined;
    for (const id of ids) changed.add(id);
  }
  return changed;
}

/**
 * `previous`: the index of the watchlist before this change. A client's hits are per entry (an
 * entry's best-matching name, whatever the other entries), so names screened under an earlier
 * version are screened again only against the entries added, changed or removed since. A
 * watchlist changes one entry at a time, and re-screening every client name against the whole
 * list at each change cost more than all other screening.
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
  const last = previous ? screeningsOf.get(previous) : undefined;
  // Shared only along one line of versions: an index made from an older one starts afresh.
  const screenings: Screenings = last && last.newest === previous ? last : { newest: undefined, contents: new Map(), version: 0, changes: new Map(), byName: new Map() };
  if (screenings === last) {
    const changed = new Set<string>();
    for (const [id, content] of contents) if (last.contents.get(id) !== content) changed.add(id);
    for (const id of last.contents.keys()) if (!contents.has(id)) changed.add(id);
    screenings.version += 1;
    screenings.changes.set(screenings.version, changed);
    screenings.changes.delete(screenings.version - CHANGES_KEPT);
  }
  screenings.contents = contents;
  const version = screenings.version;

  /** Each matching entry's best name, unsorted; with `only`, just those entries. */
  function screenUncached(clientName: string, settings: MatchSettings, only?: ReadonlySet<string>): ScreeningHit[] {
    const { client, forms, keys } = clientOf(clientName);
    const candidates = new Set(keys.flatMap((key) => byBlock.get(key) ?? []));
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

  /** Hits found under an earlier version: kept for the entries unchanged since, found afresh for the others. */
  function screenSince(clientName: string, settings: MatchSettings, held: readonly ScreeningHit[], changed: ReadonlySet<string>): ScreeningHit[] {
    const kept = held.filter((h) => !changed.has(h.entry.entryId)).map((h) => ({ ...h, entry: byId.get(h.entry.entryId)! }));
    return changed.size === 0 ? kept : [...kept, ...screenUncached(clientName, settings, changed)];
  }

  const index: WatchlistIndex = {
    size: entries.length,
    screen(clientName, settings) {
      // Exporters ship to the same clients again and again: screen each name once per watchlist version.
      const key = `${settings.threshold}|${settings.tokenThreshold}|${settings.minMatchedTokens}|${clientName}`;
      const found = screenings.byName.get(key);
      if (found?.version === version) return found.hits;
      // An index still in use after a newer one was made (a batch that began before the change)
      // neither uses nor keeps what newer versions found.
      const held = found && found.version < version ? found : undefined;
      const changed = held ? changedSince(screenings, held.version, version) : undefined;
      const hits = (held && changed ? screenSince(clientName, settings, held.hits, changed) : screenUncached(clientName, settings)).sort(bestFirst);
      if (version === screenings.version) {
        if (!found && screenings.byName.size >= MAX_SCREENED) screenings.byName.clear();
        screenings.byName.set(key, { version, hits });
      }
      return hits;
    },
  };
  screenings.newest = index;
  screeningsOf.set(index, screenings);
  return index;
}
