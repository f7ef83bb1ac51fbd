/**
 * How split-shipments forms its groups, pure: a producer's small exports of one material to one
 * client (or one destination country) fall into event-time windows chained by their first
 * shipment: the earliest small export opens a window [anchor, anchor + window); every small export
 * in it belongs to that group; the first one after it opens the next window.
 *
 * The chain is kept per group key (the rule's state) and advanced only over settled exports, in
 * event-time order: the watermark has passed them, so no on-time export can come before them any
 * more. The anchors are then a function of the settled sequence alone, whatever batches the
 * watermark released it in (one settle pass or many, live or in a replay), and so are the
 * findings (their keys, their members). A report later than the allowed lateness can only join a
 * window it falls in, or open one after the chain's last; one before that falling between two
 * windows joins no group, since the windows after it are already fixed.
 */
import { DAY_MS } from '../domain/time.ts';
import type { SeenExport } from './settled-exports.ts';

/** A small export with the threshold it was judged under. */
export interface SmallExport {
  e: SeenExport;
  thresholdKg: number;
  /** Small under the material's threshold, or under a share of the producer's usual export. */
  by: 'material' | 'usual';
  /** For `usual`: the producer's usual export of the material (the median its threshold is a share of). */
  usualKg?: number;
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

/** A window's start: its first small export. */
export interface Anchor {
  at: number;
  id: string;
}

/** What advanceChain needs to give up a short window: the key's small exports from `from` on (event order), and how many make a group. */
export interface ShortWindows {
  known: readonly SmallExport[];
  from: number;
  minShipments: number;
}

/**
 * Advances one group key's chain over newly settled small exports (event order, all at or after
 * those it was advanced over before, but for a late report): one after the last window opens the
 * next; one inside a window, or a late one before the last, opens none.
 *
 * With `short`: a last window that closed holding fewer small exports than a group needs holds no
 * group (and was never published), so when one of its small exports after the anchor has the new
 * one within a window of it, the window starts again there (the first such) instead.
 * An unrelated small lot that happened to open a window just before a run of parcels then does not
 * cut the run in two. Still a function of the settled sequence alone: the given-up window's small
 * exports all came before the new one.
 */
export function advanceChain(chain: readonly Anchor[], settled: readonly SmallExport[], windowDays: number, short?: ShortWindows): Anchor[] {
  const windowMs = windowDays * DAY_MS;
  const out = [...chain];
  for (const s of settled) {
    const last = out[out.length - 1];
    if (last && s.e.at < last.at + windowMs) continue;
    // A short last window's small export after its anchor whose window the new one falls in (none possible once the window is over a window before `from`).
    const inLast = last && short && last.at >= short.from ? short.known.filter((x) => x.e.at >= last.at && x.e.at < last.at + windowMs) : [];
    const restart = inLast.length < (short?.minShipments ?? 0) ? inLast.find((x) => x.e.id !== last!.id && x.e.at > s.e.at - windowMs) : undefined;
    if (restart) out.pop();
    const anchor = restart ?? s;
    out.push({ at: anchor.e.at, id: anchor.e.id });
  }
  return out;
}

/** The groups of the chain's windows from `from` on: the key's small exports (event order) each falls in, with what was published of it. */
export function windowsOf(smalls: readonly SmallExport[], chain: readonly Anchor[], published: readonly PublishedGroup[], windowDays: number, from = -Infinity): Group[] {
  const windowMs = windowDays * DAY_MS;
  return chain
    .filter((a) => a.at >= from)
    .map((a) => {
      const members = smalls.filter((s) => s.e.at >= a.at && s.e.at < a.at + windowMs);
      const p = published.find((g) => g.anchorId === a.id);
      return p ? { anchorAt: a.at, anchorId: a.id, members, published: p } : { anchorAt: a.at, anchorId: a.id, members };
    });
}
