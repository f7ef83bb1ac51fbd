/**
 * How split-shipments forms its groups, pure: a producer's small exports of one material to one
 * client (or one destination country) fall into event-time windows anchored at their first
 * shipment: the earliest small export opens a window [anchor, anchor + window); every small export
 * in it belongs to that group; the next one after it opens the next window. A group once
 * published keeps its window, so a late report can only join it, never move it.
 *
 * Over the same settled exports the windows come out the same whatever order the reports
 * arrived in, which is what makes the finding (its key, its members) the same live and in a replay.
 */
import { DAY_MS } from '../domain/time.ts';
import type { SeenExport } from './settled-exports.ts';

/** A small export with the threshold it was judged under. */
export interface SmallExport {
  e: SeenExport;
  thresholdKg: number;
  /** Small under the material's threshold, or under a share of the producer's usual export. */
  by: 'material' | 'usual';
}

export interface PublishedGroup {
  anchorAt: number;
  anchorId: string;
  /** Members at the last publication, reportIds in event order. */
  members: string[];
  revision: number;
}

export interface Group {
  anchorAt: number;
  anchorId: string;
  members: SmallExport[];
  published?: PublishedGroup;
}

/** Splits one group key's small exports (event order) into anchored windows, published windows first. */
export function windowsOf(smalls: readonly SmallExport[], published: readonly PublishedGroup[], windowDays: number): Group[] {
  const windowMs = windowDays * DAY_MS;
  const fixed: Group[] = published.map((p) => ({ anchorAt: p.anchorAt, anchorId: p.anchorId, members: [], published: p }));
  const open: Group[] = [];
  let current: Group | undefined;
  for (const s of smalls) {
    const home = fixed.find((g) => s.e.at >= g.anchorAt && s.e.at < g.anchorAt + windowMs);
    if (home) {
      home.members.push(s);
      continue;
    }
    if (!current || s.e.at >= current.anchorAt + windowMs) {
      current = { anchorAt: s.e.at, anchorId: s.e.id, members: [] };
      open.push(current);
    }
    current.members.push(s);
  }
  return [...fixed, ...open];
}
