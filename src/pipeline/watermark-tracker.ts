/**
 * The detector's event-time watermark as the pipeline uses it (DESIGN.md, "Watermark"): the
 * minimum, over the report-topic partitions ("sources") that have data, of the latest occurredAt
 * read on each, less the allowed lateness; never backwards. The pipeline reads it at the start of
 * a batch (RuleInput.watermark) and advances it once the batch's state is saved, then fires the
 * timers it has passed.
 *
 * In memory for replay and tests (this file); shared by every instance through Redis for `run`
 * (../state/redis-watermark.ts).
 */
import { HOUR_MS } from '../domain/time.ts';
import { EventTimeWatermark } from '../state/engine/watermark.ts';

/**
 * Default allowed lateness: 72 h. Reports are read in about the order they were filed, and a
 * report is filed up to ~46 h after its occurredAt in the simulator (reportDelay in sim/simulate.ts:
 * 5 % of reports take 30-46 h), so a partition's latest occurredAt runs up to ~2 days ahead of a
 * report still to come on it. A day more covers real reporters who file a little later than that;
 * rules that judge absence only decide later by as much, never wrongly.
 */
export const DEFAULT_ALLOWED_LATENESS_MS = 72 * HOUR_MS;

export interface WatermarkTracker {
  /** The watermark as last known; -Infinity before any source has data. */
  current(): number;
  /** Records the latest occurredAt read on each source (after the batch is durable); returns the watermark after it. */
  advance(latest: ReadonlyMap<string, number>): Promise<number>;
  /**
   * Reads the shared watermark back (as other instances have moved it) without recording anything;
   * returns it. A new instance calls it on assignment, so its first batch's RuleInput.watermark is
   * the group's, not -Infinity.
   */
  load(): Promise<number>;
}

export function createMemoryWatermark(allowedLatenessMs = DEFAULT_ALLOWED_LATENESS_MS): WatermarkTracker {
  const watermark = new EventTimeWatermark(allowedLatenessMs);
  return {
    current: () => watermark.current(),
    async advance(latest) {
      for (const [source, time] of latest) watermark.observe(source, time);
      return watermark.current();
    },
    // Nothing is shared in memory: what this tracker knows is all there is.
    load: async () => watermark.current(),
  };
}

/** The latest occurredAt per source of a batch. */
export function latestBySource(sources: readonly string[], times: readonly number[]): Map<string, number> {
  const latest = new Map<string, number>();
  sources.forEach((source, i) => {
    const t = times[i]!;
    if (!(t <= (latest.get(source) ?? -Infinity))) latest.set(source, t);
  });
  return latest;
}
