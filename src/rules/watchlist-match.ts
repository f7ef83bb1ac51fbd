/**
 * watchlist-match: an export's client name matches a restricted party's name or alias after
 * normalisation and fuzzy, romanisation-aware comparison (src/screening/). A new watchlist entry
 * is screened against the clients already seen too (retro-screening).
 *
 * One finding per entry, producer and client (two exporters to one listed party are two alerts),
 * whichever came first: "entry, then shipment" and "shipment, then entry" give the same alertId,
 * and the same alert, since it names the producer's first shipment to the client either way and
 * nothing in it says which way round it was found.
 */
import { z } from 'zod';
import type { ShipmentReport, WatchlistEntry } from '../domain/events.ts';
import { iso } from '../domain/time.ts';
import { buildWatchlistIndex, type ScreeningHit } from '../screening/watchlist-index.ts';
import { isEarlierSighting, type ClientSighting } from '../state/store.ts';
import { fixed } from './format.ts';
import { defineRule, type AlertDraft, type ParamsFor } from './rule.ts';

export const watchlistMatchParams = z
  .object({
    /**
     * Lowest name score that is a match. OpenSanctions defaults to 0.70 and Watchman's Jaro-Winkler
     * to 0.80 on single strings; this score also charges every unmatched token, hence higher.
     */
    threshold: z.number().min(0.5).max(1).default(0.88),
    /** Two tokens are the same word from this Jaro-Winkler similarity (variant spellings count as 1). */
    tokenThreshold: z.number().min(0.5).max(1).default(0.9),
    /** Tokens that must agree: 2 means a shared surname alone never matches. */
    minMatchedTokens: z.number().int().min(1).max(5).default(2),
  });
export type WatchlistMatchParams = z.output<typeof watchlistMatchParams>;

/**
 * What a hit is about: the first shipment of the producer to the client under that name, the same
 * whether the entry was listed before it, between it and later ones, or after them all.
 */
type Subject = ClientSighting;

export function watchlistDraft(hit: ScreeningHit, subject: Subject, threshold: number): AlertDraft {
  const e = hit.entry;
  return {
    // Per producer too: two exporters to one listed party are two findings, each with its own alert.
    findingKey: `${e.entryId}|${subject.producerId}|${subject.clientId}`,
    // At the threshold a match is HIGH; an exact match of the normalised names is CRITICAL.
    score: 0.6 + (0.4 * (hit.score - threshold)) / Math.max(1e-9, 1 - threshold),
    producerId: subject.producerId,
    clientId: subject.clientId,
    material: subject.material,
    subjectEventIds: [subject.reportId],
    summary: `${subject.producerId} exports to "${subject.clientName}", which matches restricted party "${e.name}" (${e.entryId}${e.country ? `, ${e.country}` : ''}) as "${hit.matchedName}" with score ${fixed(hit.score, 2)}; listed for: ${e.reason}.`,
    evidence: {
      entryId: e.entryId,
      entryName: e.name,
      matchedName: hit.matchedName,
      matchedNormalised: hit.matchedNormalised,
      clientName: subject.clientName,
      clientNormalised: hit.clientNormalised,
      score: fixed(hit.score, 3),
      threshold: String(threshold),
      matchedTokens: String(hit.matchedTokens),
      entryCountry: e.country ?? 'none',
      reason: e.reason,
      listedAt: iso(e.listedAt),
      shipmentReportId: subject.reportId,
      shippedAt: iso(subject.occurredAt),
    },
    eventTime: subject.occurredAt,
  };
}

/** A shipment as the clients-seen store keeps it. */
export const sightingOf = (s: ShipmentReport): ClientSighting => ({
  clientId: s.clientId,
  clientName: s.clientName,
  producerId: s.producerId,
  reportId: s.reportId,
  occurredAt: s.occurredAt,
  material: s.material,
});

/**
 * A new entry against every client seen so far: one finding per producer and client id, subject
 * the earliest of its sightings that matches (and that the rule is on for), screened with that
 * shipment's material's parameters. Live screening, shipments arriving in their producer's order,
 * meets the same sighting first, so both paths give the same alert.
 */
export function retroScreen(
  entry: WatchlistEntry,
  clients: readonly ClientSighting[],
  paramsFor: (producerId: string) => ParamsFor<WatchlistMatchParams>,
  enabled: (producerId: string, material: string) => boolean = () => true,
): AlertDraft[] {
  const index = buildWatchlistIndex([entry]);
  const first = new Map<string, { hit: ScreeningHit; sighting: ClientSighting; params: WatchlistMatchParams }>();
  for (const sighting of clients) {
    if (!enabled(sighting.producerId, sighting.material)) continue;
    const params = paramsFor(sighting.producerId)(sighting.material);
    const [hit] = index.screen(sighting.clientName, params);
    if (!hit) continue;
    const key = `${sighting.producerId}|${sighting.clientId}`;
    const known = first.get(key);
    if (!known || isEarlierSighting(sighting, known.sighting)) first.set(key, { hit, sighting, params });
  }
  return [...first.values()].map(({ hit, sighting, params }) => watchlistDraft(hit, sighting, params.threshold));
}

export const watchlistMatch = defineRule({
  id: 'watchlist-match',
  version: 2,
  description: 'Client name matches a restricted party (normalised, fuzzy, romanisation variants); new entries screen past clients.',
  params: watchlistMatchParams,
  kinds: ['shipments'],
  evaluate(input, params) {
    const { report, watchlist } = input;
    if (report.kind !== 'shipments' || report.event.direction !== 'EXPORT' || !watchlist || watchlist.size === 0) return [];
    // The first shipment under this name, not this one: what retro-screening would name too.
    const first = input.clientFirstSeen ?? sightingOf(report.event);
    const p = params(first.material);
    return watchlist.screen(first.clientName, p).map((hit) => watchlistDraft(hit, first, p.threshold));
  },
});
