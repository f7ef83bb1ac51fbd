/**
 * Event-time timers: a rule schedules a check at an event time (a balance check after its grace, a
 * receipt's deadline, a producer's expected next report) and the check fires once the clock that
 * drives the queue passes it: the producer's own clock for the balance book, the detector's
 * watermark (watermark.ts) for absence. Firing order is fixed by (dueAt, then the rule's own tie
 * order), never by arrival order, so a replay fires the same timers in the same order as live.
 *
 * One timer per key: scheduling a key again keeps the earlier due time.
 *
 * Saved as a base part (every timer) and a delta part (the keys scheduled, replaced or removed since
 * the base was last written). A producer with weeks of open transfers holds dozens of timers and a
 * batch moves one or two of them: the live detector saves after every batch, and rewriting the
 * whole queue each time was half of the text it sent to Redis (bench:pipeline's paced phase, 900
 * characters a save). The delta is rewritten whole at each save (a value, not an increment, so a
 * retried save is harmless) and folded into a new base once it holds d keys with d² > 2n (n the
 * timers held; delta-parts.ts).
 */
import { decodeState, encodeState, WholeCell } from './cell.ts';
import { DELTA_SUFFIX, WholeAndDelta, writesDelta } from './delta-parts.ts';


export interface Timer<P> {
  key: string;
  dueAt: number;
  payload: P;
}

const NOTHING_DUE: readonly Timer<never>[] = Object.freeze([]);

/**
 * How a payload is written beside its key: most payloads repeat what the key already says (a
 * balance check's kind, material and day; a rule timer's rule id and key), so they need not be
 * written at all. `encode` returns undefined when the key alone gives the payload back.
 */
export interface TimerPayloadCodec<P> {
  encode(payload: P, key: string): unknown;
  decode(stored: unknown, key: string): P;
}

/**
 * The stored form: `[key, dueAt]`, or `[key, dueAt, payload]` when the payload is more than its key
 * says. First written as `{key, dueAt, payload}` objects, which still read.
 */
type StoredTimer = [key: string, dueAt: number, payload?: unknown];
type Stored<P> = (StoredTimer | Timer<P>)[];
/** The delta part: a StoredTimer per key scheduled since the base, `[key]` for a key removed since. */
type StoredDelta = (StoredTimer | [key: string])[];

export class TimerQueue<P> extends WholeCell<Stored<P>> {
  private readonly byKey = new Map<string, Timer<P>>();
  /** A min-heap on (dueAt, tie); may hold timers since replaced by an earlier one, skipped when popped. */
  private readonly heap: Timer<P>[] = [];
  /**
   * Each timer's entry as last written: a base write writes every timer, but a batch schedules or
   * fires a few of them, so the others are joined as written (a timer is replaced, never changed,
   * when scheduled again).
   */
  private readonly written = new WeakMap<Timer<P>, string>();
  /**
   * Keys scheduled, replaced or removed since the base part was written: what the delta part
   * holds. Made by the first save or restore: a queue that is never saved (an in-memory replay)
   * would otherwise gather every key it ever held.
   */
  private sinceBase: Set<string> | undefined;
  private readonly parts = new WholeAndDelta();

  constructor(
    private readonly tieOrder: (a: P, b: P) => number,
    /** Without one, payloads are written as they are. */
    private readonly codec?: TimerPayloadCodec<P>,
  ) {
    super();
  }

  get size(): number {
    return this.byKey.size;
  }

  /** The earliest due time, or undefined when nothing is scheduled. */
  nextDueAt(): number | undefined {
    this.dropStale();
    return this.heap[0]?.dueAt;
  }

  schedule(key: string, dueAt: number, payload: P): void {
    const existing = this.byKey.get(key);
    if (existing && existing.dueAt <= dueAt) return;
    const timer = { key, dueAt, payload };
    this.byKey.set(key, timer);
    // Replaced and cancelled timers stay in the heap until they reach its top, which for a timer
    // set again on every report (reporting-gap's) is weeks of event time: past twice the live
    // ones, the heap is rebuilt from them. Pops come in (dueAt, tie) order, a total order over
    // live keys, so the heap's shape never shows.
    if (this.heap.length >= 2 * this.byKey.size + 16) this.rebuild();
    else this.push(timer);
    this.sinceBase?.add(key);
    this.changed();
  }

  /** The due time of the timer of that key, if one is scheduled. */
  dueAtOf(key: string): number | undefined {
    return this.byKey.get(key)?.dueAt;
  }

  cancel(key: string): void {
    if (!this.byKey.delete(key)) return;
    this.sinceBase?.add(key);
    this.changed();
  }

  /** Every timer due at or before `time`, left in place (any order). */
  peekDue(time: number): Timer<P>[] {
    const due: Timer<P>[] = [];
    for (const t of this.byKey.values()) if (t.dueAt <= time) due.push(t);
    return due;
  }

  /** Removes and returns every timer due at or before `time`, in firing order. */
  popDue(time: number): readonly Timer<P>[] {
    // Most calls find nothing due: answer without allocating.
    if (!(this.nextDueAt()! <= time)) return NOTHING_DUE;
    const due: Timer<P>[] = [];
    for (;;) {
      this.dropStale();
      const top = this.heap[0];
      if (top === undefined || top.dueAt > time) break;
      this.pop();
      this.byKey.delete(top.key);
      this.sinceBase?.add(top.key);
      due.push(top);
    }
    if (due.length > 0) this.changed();
    return due;
  }

  private compare(a: Timer<P>, b: Timer<P>): number {
    return a.dueAt - b.dueAt || this.tieOrder(a.payload, b.payload);
  }

  private dropStale(): void {
    while (this.heap.length > 0 && this.byKey.get(this.heap[0]!.key) !== this.heap[0]) this.pop();
  }

  private push(timer: Timer<P>): void {
    const h = this.heap;
    h.push(timer);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const child = h[i]!;
      if (this.compare(h[parent]!, child) <= 0) break;
      h[i] = h[parent]!;
      h[parent] = child;
      i = parent;
    }
  }

  /** The heap made again from the live timers only. */
  private rebuild(): void {
    const h = this.heap;
    h.length = 0;
    for (const timer of this.byKey.values()) h.push(timer);
    for (let i = (h.length >> 1) - 1; i >= 0; i -= 1) this.siftDown(i);
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(from: number): void {
    const h = this.heap;
    let i = from;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && this.compare(h[l]!, h[m]!) < 0) m = l;
      if (r < h.length && this.compare(h[r]!, h[m]!) < 0) m = r;
      if (m === i) return;
      const top = h[i]!;
      h[i] = h[m]!;
      h[m] = top;
      i = m;
    }
  }

  protected toData(): StoredTimer[] | null {
    if (this.byKey.size === 0) return null;
    const out: StoredTimer[] = [];
    for (const { key, dueAt, payload } of this.byKey.values()) {
      const stored = this.codec ? this.codec.encode(payload, key) : payload;
      out.push(stored === undefined ? [key, dueAt] : [key, dueAt, stored]);
    }
    return out;
  }

  /** One timer as stored, written once per timer (a timer is replaced, never changed). */
  private entryText(timer: Timer<P>): string {
    let text = this.written.get(timer);
    if (text === undefined) {
      const stored = this.codec ? this.codec.encode(timer.payload, timer.key) : timer.payload;
      this.written.set(timer, (text = encodeState(stored === undefined ? [timer.key, timer.dueAt] : [timer.key, timer.dueAt, stored])));
    }
    return text;
  }

  protected override toText(): string | null {
    if (this.byKey.size === 0) return null;
    const parts: string[] = [];
    for (const timer of this.byKey.values()) parts.push(this.entryText(timer));
    return `[${parts.join(',')}]`;
  }

  /** The delta part: each key changed since the base, as it stands now. */
  private deltaText(): string {
    const parts: string[] = [];
    for (const key of this.sinceBase ?? []) {
      const timer = this.byKey.get(key);
      parts.push(timer ? this.entryText(timer) : JSON.stringify([key]));
    }
    return `[${parts.join(',')}]`;
  }

  /**
   * The delta alone while it is small beside the queue; else a new base, and the delta removed. An
   * empty queue removes both.
   */
  override drainChanges(): Map<string, string | null> {
    const out = new Map<string, string | null>();
    if (!this.takeChanged()) return out;
    if (this.sinceBase && this.parts.wholeStored && writesDelta(this.byKey.size, this.sinceBase.size)) {
      this.parts.writeDelta(out, this.deltaText());
      return out;
    }
    this.parts.writeWhole(out, this.toText());
    this.sinceBase = new Set();
    return out;
  }

  /** The base and the delta, read in either order: a key the delta names is the delta's. */
  override restorePart(part: string, text: string): void {
    // A restored queue is saved again: its changes are tracked from here on.
    this.sinceBase ??= new Set();
    if (part !== DELTA_SUFFIX) {
      super.restorePart(part, text);
      this.parts.wholeStored = true;
      return;
    }
    this.parts.deltaStored = true;
    for (const entry of decodeState<StoredDelta>(text)) {
      const key = entry[0];
      this.sinceBase.add(key);
      if (entry.length === 1) {
        // Left in the heap, if the base put it there: a key no longer in byKey is skipped when popped.
        this.byKey.delete(key);
        continue;
      }
      this.set(this.timerOf(entry));
    }
  }

  private timerOf(entry: StoredTimer): Timer<P> {
    return { key: entry[0], dueAt: entry[1], payload: this.codec ? this.codec.decode(entry[2], entry[0]) : (entry[2] as P) };
  }

  private set(timer: Timer<P>): void {
    this.byKey.set(timer.key, timer);
    this.push(timer);
  }

  protected fromData(data: Stored<P>): void {
    for (const entry of data) {
      const timer = Array.isArray(entry) ? this.timerOf(entry) : entry;
      if (!this.sinceBase?.has(timer.key)) this.set(timer);
    }
  }
}
