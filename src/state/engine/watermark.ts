/**
 * The detector's event-time watermark (DESIGN.md, "Watermark"): the minimum, over the report-topic
 * partitions, of the latest occurredAt read on each, less an allowed lateness. It never moves
 * backwards.
 *
 * Given the partitions it waits for, it stays at -Infinity until each has data, so a partition
 * read late cannot have been overtaken: live and replay then agree on every value the watermark
 * takes for the same interleaving, and always on where it ends. Which batch a timer fires in can
 * still differ with the interleaving, so a rule judges by event times (was the receipt's
 * occurredAt within grace?), never by whether an event arrived before its timer fired.
 *
 * Live, each instance sees only its own partitions; sharing the minimum across instances (e.g.
 * each publishes its partitions' latest times) is the next step, see README.md.
 */
export class EventTimeWatermark {
  private readonly latest = new Map<string, number>();
  private readonly waitingFor: Set<string>;
  private value = -Infinity;

  constructor(
    private readonly allowedLatenessMs: number,
    /** The partitions that must each have data before the watermark moves; none: whichever have data. */
    partitions: Iterable<string> = [],
  ) {
    if (!(allowedLatenessMs >= 0)) throw new RangeError(`allowed lateness must be >= 0 ms, got ${allowedLatenessMs}`);
    this.waitingFor = new Set(partitions);
  }

  /** Records an event read on a partition; returns the watermark after it. */
  observe(partition: string, occurredAt: number): number {
    const seen = this.latest.get(partition);
    if (seen !== undefined && occurredAt <= seen) return this.value;
    this.latest.set(partition, occurredAt);
    this.waitingFor.delete(partition);
    if (this.waitingFor.size > 0) return this.value;
    let min = Infinity;
    for (const t of this.latest.values()) if (t < min) min = t;
    this.value = Math.max(this.value, min - this.allowedLatenessMs);
    return this.value;
  }

  /** -Infinity until the partitions it waits for have data. */
  current(): number {
    return this.value;
  }
}
