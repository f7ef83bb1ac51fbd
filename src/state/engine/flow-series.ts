/**
 * A material's daily flow totals, packed: the five totals of each day as five numbers in one flat
 * array (FLOW_KINDS order), not an object per day. An object with five number fields took ~150
 * bytes of heap per day (each double boxed), the packed form 40; a producer holds a few hundred
 * days of each material it trades. Saved exactly as DaySeries<FlowTotals> saves them.
 */
import { roundKg } from '../balance.ts';
import { FLOW_KINDS, type FlowKind, type FlowTotals } from '../store.ts';
import type { ValueCodec } from './cell.ts';
import { DaySeries } from './day-series.ts';

const KINDS = FLOW_KINDS.length;
/**
 * A kind's place in FLOW_KINDS. A switch rather than a lookup object: five different keys read
 * through one property access made it megamorphic, a hashed lookup on every flow.
 */
function slotOf(kind: FlowKind): number {
  switch (kind) {
    case 'produced':
      return 0;
    case 'received':
      return 1;
    case 'consumed':
      return 2;
    case 'shipped':
      return 3;
    case 'exported':
      return 4;
  }
}

export class FlowSeries extends DaySeries<FlowTotals> {
  /** Day i's totals at [i * KINDS, (i + 1) * KINDS). */
  private readonly packed: number[] = [];

  constructor(codec: ValueCodec<FlowTotals>, flat = false) {
    super(codec, flat);
  }

  /** Adds kg to the day's total of one kind (rounded to grams), creating the day at zero. */
  add(day: number, kind: FlowKind, kg: number): void {
    let i = this.indexOf(day);
    if (i === -1) i = this.insert(day, ZERO);
    const slot = i * KINDS + slotOf(kind);
    this.packed[slot] = roundKg(this.packed[slot]! + kg);
    this.touched(day);
  }

  /**
   * Day i's totals (of `days[i]`) at [i * 5, i * 5 + 5), in FLOW_KINDS order: for arithmetic
   * that walks the days in order (balance.ts), without an object per day. Read only.
   */
  get totals(): readonly number[] {
    return this.packed;
  }

  /** A fresh object each time: changing it changes nothing stored (use add). */
  protected override valueAt(i: number): FlowTotals {
    const at = i * KINDS;
    const p = this.packed;
    return { produced: p[at]!, received: p[at + 1]!, consumed: p[at + 2]!, shipped: p[at + 3]!, exported: p[at + 4]! };
  }
  protected override putAt(i: number, value: FlowTotals): void {
    for (let k = 0; k < KINDS; k += 1) this.packed[i * KINDS + k] = value[FLOW_KINDS[k]!];
  }
  protected override insertAt(at: number, value: FlowTotals): void {
    // Spelled out: a day is added for every new day of a material, a list per day cost.
    const { produced, received, consumed, shipped, exported } = value;
    if (at * KINDS === this.packed.length) this.packed.push(produced, received, consumed, shipped, exported);
    else this.packed.splice(at * KINDS, 0, produced, received, consumed, shipped, exported);
  }
  protected override removeFront(n: number): void {
    this.packed.splice(0, n * KINDS);
  }
}

const ZERO: FlowTotals = { produced: 0, received: 0, consumed: 0, shipped: 0, exported: 0 };
