/**
 * Delta parts: a cell that holds many entries and changes a few per batch (a producer's timers,
 * the reports of the current span, its recent exports, the days of a book chunk) saves the entries
 * changed since it was last written whole in a part of its own, `<part>+`, instead of writing
 * everything again: the live detector saves after every batch of a few reports, and those
 * rewrites were most of what a save sent to Redis. The delta is itself written whole each time (a
 * value, not an increment), and folded into a new whole part once it holds d entries with d² > 2n
 * (n the entries held): rewriting the whole every k saves costs ~n/k a save, the growing delta
 * ~d/2, and k = √(2n) balances the two. Below DELTA_MIN_ENTRIES entries the whole part is short,
 * and a delta would only add a field to the producer's hash.
 *
 * A save sent twice is harmless, as before. A save that lands after a lost one is not: its delta
 * names changes since a whole part the lost save may have carried. The live path awaits every save
 * and reloads a producer whose save failed; a replay whose overlapped save failed stops
 * (engine.ts). A producer's save is one script call, so it lands whole or not at all.
 *
 * A producer's delta parts are restored after its cells' other parts (producer-state.ts), so a
 * delta always lands on the whole part it was written against. A cell split by time (book chunks,
 * applied spans) folds an older part's delta into its whole part once a later part changes: a
 * delta left behind would stay a field in Redis. Redis memory per producer (bench:replay, seed 42,
 * 300 producers, 110 days, saved after every batch of 50) is 25.4 KB against 24.2 KB without
 * deltas; saved at the default checkpoints, 24.6 KB.
 */
import { WHOLE } from './cell.ts';

/** Ends the name of a delta part. */
export const DELTA_SUFFIX = '+';

export const DELTA_MIN_ENTRIES = 8;

/** Whether a save writes the delta of `added` entries alone, with `held` entries in the cell. */
export function writesDelta(held: number, added: number): boolean {
  return added > 0 && held >= DELTA_MIN_ENTRIES && added * added <= 2 * held;
}

/** Which of a cell's whole part and delta part are in storage, and how a save writes one or the other. */
export class WholeAndDelta {
  wholeStored = false;
  deltaStored = false;

  /** Writes the delta part (its text made only now). */
  writeDelta(out: Map<string, string | null>, text: string): void {
    out.set(DELTA_SUFFIX, text);
    this.deltaStored = true;
  }

  /** Writes the whole part (null: the cell is empty) and removes the delta part if one is stored. */
  writeWhole(out: Map<string, string | null>, text: string | null): void {
    if (text !== null || this.wholeStored) out.set(WHOLE, text);
    if (this.deltaStored) out.set(DELTA_SUFFIX, null);
    this.wholeStored = text !== null;
    this.deltaStored = false;
  }
}
