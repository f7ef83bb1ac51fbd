/**
 * split-shipments: within a window (7 days of event time) a producer sends at least N (4) small
 * EXPORT shipments of one material to one client, or to one destination country across clients,
 * that together are large: the structuring pattern ("multiple small parcels by express
 * delivery", China's Ministry of State Security, July 2025). No public kg threshold exists
 * (RULE-EVIDENCE.md), so "small" is either of:
 * - under the material's setting: by default the kg worth `smallValueUsd` at the catalogue's
 *   reference price (a parcel's worth: ~22 kg of NdFeB, ~1 kg of Tb oxide), or `smallKg` when set;
 * - well under the producer's own usual export of the material (its median over trailing exports).
 * Together large: the group's total reaches the (lowest) threshold its members are small under.
 * A group whose members are small only against the producer's usual (none under the material's
 * threshold) needs more: ordinary lots vary, and four of a producer's smaller lots by sea or rail
 * in a week are not a consignment split up. It counts when together it makes up a usual lot
 * (`usualTotalShare` of it: one consignment sent in pieces), or when most of it (over half) goes by
 * COURIER or POST (the small-parcel channel named in 2025). COURIER and POST parcels weigh double
 * in the score.
 *
 * One finding per group (split-groups.ts: windows chained from the first shipment, the chain kept
 * per group key and advanced over settled exports in event order), published again with a higher
 * revision as shipments join it. Judged once the watermark has passed the exports
 * (settled-exports.ts), so group and members are the same live and in a replay, whatever batches
 * the watermark settles them in.
 */
import { z } from 'zod';
import type { Catalogue } from '../domain/catalogue.ts';
import { DAY_MS, iso } from '../domain/time.ts';
import { KeyedLists } from '../state/engine/keyed-lists.ts';
import { kg, tonnes } from './format.ts';
import { medianOf } from './robust-stats.ts';
import { defineRule, type AlertDraft, type ParamsFor, type RuleState } from './rule.ts';
import { clampScore } from './severity.ts';
import { advanceChain, windowsOf, type Anchor, type Group, type PublishedGroup, type SmallExport } from './split-groups.ts';
import { judgingSettledExports, startOfHistory, type SeenExport, type SettledExports, type SettledJudgement } from './settled-exports.ts';

export const splitShipmentsParams = z.object({
  /** The window a group's shipments fall in, from its first, in days of event time. */
  windowDays: z.number().positive().max(31).default(7),
  /** Small shipments in one window that make a group. */
  minShipments: z.number().int().min(2).max(100).default(4),
  /**
   * A shipment worth less than this at the catalogue's reference price is small for its material.
   * About a courier sample's worth; in kg it follows the price: 22 kg NdFeB, 11 kg SmCo, 4.3 kg Dy
   * oxide, 1 kg Tb oxide, 0.84 kg Tb metal at the 2025 references.
   */
  smallValueUsd: z.number().positive().default(1000),
  /** A kg threshold instead (set it per material with an override); unset: from smallValueUsd. */
  smallKg: z.number().positive().optional(),
  /** A shipment at most this share of the producer's median export of the material is small for it. */
  usualShare: z.number().positive().max(1).default(0.3),
  /**
   * A group small only against the producer's usual (no member under the material's threshold)
   * must together reach this share of its usual export, unless most of it (over half) goes by
   * courier or post: smaller lots than usual are ordinary; a usual lot's worth sent in pieces is the split.
   */
  usualTotalShare: z.number().positive().max(10).default(1),
  /** Earlier exports needed before the producer's usual is trusted. */
  minHistory: z.number().int().min(3).max(60).default(8),
  /** Earlier exports the usual is the median of, within historyDays. */
  historySize: z.number().int().min(3).max(60).default(30),
  historyDays: z.number().int().min(7).max(120).default(90),
  /** What a COURIER or POST shipment counts for in the score (the small-parcel channels named in 2025). */
  parcelWeight: z.number().min(1).max(5).default(2),
});
export type SplitShipmentsParams = z.output<typeof splitShipmentsParams>;

const PARCEL_MODES: ReadonlySet<string> = new Set(['COURIER', 'POST']);

/** The material's own small threshold, and where it comes from. */
export function materialSmallKg(material: string, catalogue: Catalogue, p: SplitShipmentsParams): { kg: number; from: string } | null {
  if (p.smallKg !== undefined) return { kg: p.smallKg, from: 'smallKg setting' };
  const entry = catalogue.get(material);
  if (!entry) return null;
  return { kg: p.smallValueUsd / entry.referenceUsdPerKg, from: `${p.smallValueUsd} USD at the reference ${entry.referenceUsdPerKg} USD/kg` };
}

/**
 * Whether a shipment is small, and the threshold it is small under: the material's own, or a
 * share of the producer's usual (median) export once it has enough history. `history` may be a
 * function giving it, called only when the material's threshold does not decide.
 */
export function smallUnder(
  kgValue: number,
  materialKg: number | null,
  history: readonly number[] | (() => readonly number[]),
  p: SplitShipmentsParams,
): { thresholdKg: number; by: 'material' | 'usual'; usualKg?: number } | null {
  if (materialKg !== null && kgValue < materialKg) return { thresholdKg: materialKg, by: 'material' };
  const sizes = typeof history === 'function' ? history() : history;
  if (sizes.length < p.minHistory) return null;
  const usualKg = medianOf(sizes);
  const threshold = p.usualShare * usualKg;
  return kgValue <= threshold ? { thresholdKg: threshold, by: 'usual', usualKg } : null;
}

/**
 * The usual export a group small only against the producer's usual is measured by, or null for a
 * group with a member under the material's threshold: its first member's, the producer's usual
 * from before the pieces began. A later member's usual counts the earlier pieces among the
 * producer's exports, so it is pulled down by the very split it should measure.
 */
function usualOnlyKg(members: readonly SmallExport[]): number | null {
  for (const m of members) if (m.by !== 'usual' || m.usualKg === undefined) return null;
  return members[0]?.usualKg ?? null;
}

const parcelsIn = (members: readonly SmallExport[]): number => members.filter((m) => PARCEL_MODES.has(m.e.value.mode)).length;

// Both kept per group key, and dropped once older than any window that can still change
// (engine/keyed-lists.ts): the published groups, and the chain of window anchors over the settled
// small exports (event order).
const publishedOf = (state: RuleState) => state.cell('groups', () => new KeyedLists<PublishedGroup>());
const chainsOf = (state: RuleState) => state.cell('chains', () => new KeyedLists<Anchor>());

/** Publishes a group: it replaces its earlier publication (same anchor), placed last. */
function putPublished(published: KeyedLists<PublishedGroup>, key: string, group: PublishedGroup): void {
  published.set(key, [...(published.get(key) ?? []).filter((g) => g.anchorId !== group.anchorId), group]);
}

interface GroupKey {
  key: string;
  by: 'client' | 'destination';
  value: string;
}

function qualifies(g: Group, k: GroupKey, p: SplitShipmentsParams): boolean {
  if (g.members.length < p.minShipments) return false;
  const total = g.members.reduce((s, m) => s + m.e.value.kg, 0);
  // Mixed groups (parcels under the material's threshold, a lot under the producer's usual) are
  // large once over the lower of the thresholds: each member is under its own, the whole is not.
  if (total < Math.min(...g.members.map((m) => m.thresholdKg))) return false;
  // Small only against the producer's usual: a usual lot's worth in pieces, or parcels for the most part.
  const usual = usualOnlyKg(g.members);
  if (usual !== null && total < p.usualTotalShare * usual && 2 * parcelsIn(g.members) <= g.members.length) return false;
  if (k.by === 'client') return true;
  // A destination group that is one client's group already is that client's finding.
  const perClient = new Map<string, number>();
  for (const m of g.members) perClient.set(m.e.value.clientId, (perClient.get(m.e.value.clientId) ?? 0) + 1);
  return perClient.size >= 2 && Math.max(...perClient.values()) < p.minShipments;
}

function draftOf(producerId: string, material: string, k: GroupKey, g: Group, revision: number, matKg: { kg: number; from: string } | null, p: SplitShipmentsParams): AlertDraft {
  const members = g.members;
  const total = members.reduce((s, m) => s + m.e.value.kg, 0);
  const parcels = parcelsIn(members);
  const usual = usualOnlyKg(members);
  const weighted = members.length + parcels * (p.parcelWeight - 1);
  const last = members[members.length - 1]!;
  const largest = Math.max(...members.map((m) => m.e.value.kg));
  const clients = [...new Set(members.map((m) => m.e.value.clientId))];
  const dests = [...new Set(members.map((m) => m.e.value.dest))];
  const to = k.by === 'client' ? `client ${k.value} (${dests.join(', ')})` : `${k.value} (${clients.length} clients)`;
  return {
    findingKey: `${producerId}|${k.key}|${g.anchorId}`,
    revision,
    // 4 shipments by sea: MEDIUM; each parcel, or shipment beyond the fourth, adds to it.
    score: clampScore(0.35 + 0.1 * (weighted - p.minShipments)),
    producerId,
    clientId: k.by === 'client' ? k.value : null,
    licenceId: null,
    subjectEventIds: members.map((m) => m.e.id),
    summary: `${producerId} sent ${members.length} small exports of ${material} to ${to} within ${p.windowDays} days, ${tonnes(total)} together${parcels > 0 ? `, ${parcels} of them by courier or post` : ''}.`,
    evidence: {
      groupBy: k.by,
      [k.by === 'client' ? 'clientId' : 'destinationCountry']: k.value,
      material,
      shipments: String(members.length),
      totalKg: kg(total),
      largestKg: kg(largest),
      thresholdKg: kg(Math.min(...members.map((m) => m.thresholdKg))),
      materialSmallKg: matKg ? kg(matKg.kg) : 'unknown material',
      materialSmallFrom: matKg ? matKg.from : 'unknown material',
      smallBy: [...new Set(members.map((m) => m.by))].join(','),
      usualShare: String(p.usualShare),
      // What a group small only against the usual was also measured by (only such groups carry it).
      ...(usual !== null ? { usualKg: kg(usual), usualTotalShare: String(p.usualTotalShare) } : {}),
      courierOrPost: String(parcels),
      minShipments: String(p.minShipments),
      windowDays: String(p.windowDays),
      members: members.map((m) => `${m.e.id} ${kg(m.e.value.kg)} kg ${m.e.value.mode} ${iso(m.e.at).slice(0, 10)}`).join('; '),
      revision: String(revision),
    },
    eventTime: last.e.at,
    windowStart: g.anchorAt,
    windowEnd: g.anchorAt + p.windowDays * DAY_MS - 1,
  };
}

/** The sizes of exportsBefore(list, list[at], days, max), oldest first, into `into`. */
function sizesBefore(list: readonly SeenExport[], at: number, days: number, max: number, into: number[]): number[] {
  const start = startOfHistory(list, at, list[at]!.at, days, max);
  into.length = 0;
  for (let i = start; i < at; i += 1) into.push(list[i]!.value.kg);
  return into;
}

/** Groups of one material after new exports settled; publishes new groups and grown ones. */
function judgeMaterial(state: RuleState, exportsOf: SettledExports, material: string, fresh: readonly SeenExport[], settledTo: number, catalogue: Catalogue, p: SplitShipmentsParams): AlertDraft[] {
  const windowMs = p.windowDays * DAY_MS;
  const list = exportsOf.list(material, settledTo);
  const freshIds = new Set(fresh.map((e) => e.id));
  // Only windows that can hold a fresh export: anchors up to one window before the earliest.
  const from = Math.min(...fresh.map((e) => e.at)) - 2 * windowMs;
  const matKg = materialSmallKg(material, catalogue, p);
  const smalls: SmallExport[] = [];
  // One history function and one sizes list for the whole walk, not a closure, a list of exports
  // and a list of sizes per export judged: the walk covers two windows of exports each time.
  let at = 0;
  const sizes: number[] = [];
  const history = (): readonly number[] => sizesBefore(list, at, p.historyDays, p.historySize, sizes);
  for (; at < list.length; at += 1) {
    const e = list[at]!;
    if (e.at < from) continue;
    const small = smallUnder(e.value.kg, matKg?.kg ?? null, history, p);
    if (small) smalls.push({ e, ...small });
  }
  const buckets = new Map<string, { k: GroupKey; smalls: SmallExport[] }>();
  for (const s of smalls) {
    for (const k of [
      { key: `${material}|client|${s.e.value.clientId}`, by: 'client' as const, value: s.e.value.clientId },
      { key: `${material}|dest|${s.e.value.dest}`, by: 'destination' as const, value: s.e.value.dest },
    ]) {
      const b = buckets.get(k.key) ?? { k, smalls: [] };
      b.smalls.push(s);
      buckets.set(k.key, b);
    }
  }
  const published = publishedOf(state);
  const chains = chainsOf(state);
  const drafts: AlertDraft[] = [];
  for (const { k, smalls: keyed } of buckets.values()) {
    // The chain moves only over the exports settled now; state from before chains were kept starts from the published windows.
    const stored = chains.get(k.key);
    const held = stored ?? (published.get(k.key) ?? []).map((g) => ({ at: g.anchorAt, id: g.anchorId })).sort((x, y) => x.at - y.at);
    const chain = advanceChain(held, keyed.filter((s) => freshIds.has(s.e.id)), p.windowDays, { known: keyed, from, minShipments: p.minShipments });
    if (chain.length > 0 && (chain.length !== stored?.length || chain[chain.length - 1]!.id !== stored[stored.length - 1]!.id)) chains.set(k.key, chain);
    for (const g of windowsOf(keyed, chain, published.get(k.key) ?? [], p.windowDays, from)) {
      if (!g.members.some((m) => freshIds.has(m.e.id)) || !qualifies(g, k, p)) continue;
      const before = g.published;
      if (before && g.members.length <= before.members.length) continue;
      // From the group's size, not a count of publications: how many sizes a group passes through
      // between two settle passes depends on batching, and live and a replay must end on the
      // same revision. 1 at the least group that qualifies by count.
      const revision = Math.max(1, g.members.length - p.minShipments + 1);
      putPublished(published, k.key, { anchorAt: g.anchorAt, anchorId: g.anchorId, members: g.members.map((m) => m.e.id), revision });
      drafts.push(draftOf(state.producerId, material, k, g, revision, matKg, p));
    }
  }
  // Kept while a late export could still join: the lookback above reaches two windows back.
  published.dropBefore(settledTo - 4 * windowMs, (g) => g.anchorAt);
  chains.dropBefore(settledTo - 4 * windowMs, (a) => a.at);
  return drafts;
}

function judgeAll({ state, exports, toJudge, catalogue }: SettledJudgement, params: ParamsFor<SplitShipmentsParams>): AlertDraft[] {
  const drafts: AlertDraft[] = [];
  for (const [material, fresh] of toJudge.byMaterial) drafts.push(...judgeMaterial(state, exports, material, fresh, toJudge.settledTo, catalogue, params(material)));
  return drafts;
}

export const splitShipments = defineRule({
  id: 'split-shipments',
  version: 3,
  description: 'Several small exports to one client or destination within a window, together large.',
  params: splitShipmentsParams,
  ...judgingSettledExports(judgeAll),
});
