/**
 * What every piece of rule state is to the engine: a cell that can say which of its parts changed
 * since it was last saved, write those parts as text, and be rebuilt from them. A cell is split
 * into parts (subfields) so a batch writes back only what it touched: a book of 120 days saves the
 * chunk of days that moved, not the whole book.
 *
 * Parts are stored as text values (JSON), never as increments, so writing the same changes twice
 * leaves the same state: a retried save is harmless.
 */
export interface StateCell {
  /** The parts changed since the last call, as text; null for a part that is gone. Clears the record of changes. */
  drainChanges(): Map<string, string | null>;
  /** Puts back one part as drainChanges wrote it. Called for every stored part before first use. */
  restorePart(part: string, text: string): void;
}

/**
 * JSON that keeps negative zero: a balance of -0 kg is what the in-memory store reports (and what
 * evidence prints), and plain JSON would read it back as 0. The marker starts with a NUL, which no
 * id can hold (keys.ts) and no report text plausibly does.
 */
const NEGATIVE_ZERO = '\u0000-0';
const ENCODED_NEGATIVE_ZERO = JSON.stringify(NEGATIVE_ZERO);

// A walk is much cheaper than a replacer or reviver callback on every value, and -0 is rare. Plain
// loops, no closures: it runs over every value a save writes.
function holdsNegativeZero(value: unknown): boolean {
  if (typeof value === 'number') return value === 0 && 1 / value < 0;
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i += 1) {
      const item: unknown = value[i];
      if (typeof item === 'number' ? item === 0 && 1 / item < 0 : typeof item === 'object' && item !== null && holdsNegativeZero(item)) return true;
    }
    return false;
  }
  for (const key in value) if (holdsNegativeZero((value as Record<string, unknown>)[key])) return true;
  return false;
}

export function encodeState(data: unknown): string {
  if (!holdsNegativeZero(data)) return JSON.stringify(data);
  return JSON.stringify(data, (_key, value: unknown) => (Object.is(value, -0) ? NEGATIVE_ZERO : value));
}

export function decodeState<T>(text: string): T {
  if (!text.includes(ENCODED_NEGATIVE_ZERO)) return JSON.parse(text) as T;
  return JSON.parse(text, (_key, value: unknown) => (value === NEGATIVE_ZERO ? -0 : value)) as T;
}

/**
 * How a cell writes one of its values compactly (e.g. a day's five flow totals as an array rather
 * than an object with five names): state is written every batch and held in Redis for every
 * producer, so its size is the engine's memory and bandwidth.
 */
export interface ValueCodec<V, Stored = unknown> {
  encode(value: V): Stored;
  decode(stored: Stored): V;
}

/** The part name of a cell that is saved whole. */
export const WHOLE = '';

/**
 * A cell saved as one part. Subclasses hold their data, call `changed()` when they modify it, and
 * say how to turn it into JSON and back.
 */
export abstract class WholeCell<Data> implements StateCell {
  private dirty = false;

  protected changed(): void {
    this.dirty = true;
  }

  protected abstract toData(): Data | null;
  protected abstract fromData(data: Data): void;

  /** The cell as text, exactly encodeState(toData()); a cell may write it from texts it kept. */
  protected toText(): string | null {
    const data = this.toData();
    return data === null ? null : encodeState(data);
  }

  /** Whether anything changed since the last save, clearing the record: for a cell that writes its changes its own way. */
  protected takeChanged(): boolean {
    const was = this.dirty;
    this.dirty = false;
    return was;
  }

  drainChanges(): Map<string, string | null> {
    if (!this.takeChanged()) return new Map();
    return new Map([[WHOLE, this.toText()]]);
  }

  restorePart(_part: string, text: string): void {
    this.fromData(decodeState<Data>(text));
  }
}
