/**
 * A producer's declared export prices (USD/kg) per material, for undervaluation's robust baseline:
 * the last PRICE_HISTORY_KEPT + 1 in (occurredAt, reportId) order. The pipeline records every
 * export applied, whichever rules are on, and hands the rule the prices before it.
 *
 * Producer state like the balance book: it depends only on the producer's own reports, is saved
 * with them after the batch, and a redelivered report (already applied) is never recorded twice.
 * It used to be a sorted set per producer and material beside the state, written by one Lua call
 * per export that read back up to 64 prices each time.
 *
 * Stored one part per material, `[[occurredAt, reportId, usdPerKg], ...]` oldest first, so a
 * batch writes back only the materials it exported.
 */
import { decodeState, type StateCell } from './cell.ts';

/** Prices kept per producer and material; a rule may look back at most this far. */
export const PRICE_HISTORY_KEPT = 64;

type PricePoint = [occurredAt: number, reportId: string, usdPerKg: number];

/** Whether (occurredAt, reportId) comes before the point: equal times order by reportId. */
const isBefore = (occurredAt: number, reportId: string, point: PricePoint): boolean =>
  occurredAt !== point[0] ? occurredAt < point[0] : reportId < point[1];

export class PriceHistory implements StateCell {
  private readonly byMaterial = new Map<string, PricePoint[]>();
  private readonly changedMaterials = new Set<string>();

  /**
   * Records the price and returns the prices that come before it, oldest first, at most
   * PRICE_HISTORY_KEPT. A reportId already held is not added again and gets the same answer. A
   * price that is not finite (a value over a quantity too small to divide by) is not kept: it
   * would be saved as null, and a history read back would then differ from the one held.
   */
  observe(material: string, reportId: string, occurredAt: number, usdPerKg: number): number[] {
    let ring = this.byMaterial.get(material);
    if (ring === undefined) this.byMaterial.set(material, (ring = []));
    // Its place, looked for from the newest end, where a report nearly always lands. A report
    // already held sits just before that place: the same reportId is the same report, with the
    // same occurredAt (the engine does not even hand a redelivered report on).
    let rank = ring.length;
    while (rank > 0 && isBefore(occurredAt, reportId, ring[rank - 1]!)) rank -= 1;
    const held = rank > 0 && ring[rank - 1]![1] === reportId && ring[rank - 1]![0] === occurredAt;
    if (held) rank -= 1;
    else if (Number.isFinite(usdPerKg)) {
      // Nearly always the newest: a push, where splice makes a list of what it removes (none).
      if (rank === ring.length) ring.push([occurredAt, reportId, usdPerKg]);
      else ring.splice(rank, 0, [occurredAt, reportId, usdPerKg]);
      this.changedMaterials.add(material);
    }
    const earlier: number[] = [];
    for (let i = Math.max(0, rank - PRICE_HISTORY_KEPT); i < rank; i += 1) earlier.push(ring[i]![2]);
    // One more than a rule may read, so a report's own point never pushes out what it reads.
    // Mostly the one oldest: shift allocates nothing.
    const excess = ring.length - PRICE_HISTORY_KEPT - 1;
    if (excess === 1) ring.shift();
    else if (excess > 1) ring.splice(0, excess);
    return earlier;
  }

  drainChanges(): Map<string, string | null> {
    const changes = new Map<string, string | null>();
    // Prices kept are finite and never below zero (events.ts): plain JSON keeps them (a -0 reads
    // back as 0, the same price to every statistic).
    for (const material of this.changedMaterials) changes.set(material, JSON.stringify(this.byMaterial.get(material)));
    this.changedMaterials.clear();
    return changes;
  }

  restorePart(material: string, text: string): void {
    this.byMaterial.set(material, decodeState<PricePoint[]>(text));
  }
}
