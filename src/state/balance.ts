/**
 * Book-balance arithmetic over daily buckets, pure, for the state engine's balance book
 * (engine/balance-book.ts): the book at the end of given days, and the checks that fire.
 */
import type { FiredCheck } from './store.ts';


/** What the balance arithmetic reads of one material's book: the days in order and their values. */
export interface BookReader {
  /**
   * The flow totals of `flowDays[i]` at [i * 5, i * 5 + 5), in FLOW_KINDS order (produced,
   * received, consumed, shipped, exported): read by index as the days are walked, with no object
   * made per day.
   */
  flowTotals: readonly number[];
  declarations: { get(day: number): { kg: number; reportId: string } | undefined; has(day: number): boolean };
  outflowIds: { get(day: number): readonly string[] | undefined };
  /** The days that have flow totals, ascending; then the days with a declaration, ascending. */
  flowDays: readonly number[];
  declarationDays: readonly number[];
}

/** Rounds to grams so float noise never decides a finding, and every run agrees to the digit. */
export const roundKg = (kg: number): number => Math.round(kg * 1000) / 1000;

/** The index of the first element of ascending `sorted` that is >= value (its length when none). */
export function firstAtOrAfter(sorted: readonly number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export type BookAt = Pick<FiredCheck, 'opening' | 'totals' | 'bookKg'>;

/**
 * The book at the end of each of `days`, each starting from the latest declaration strictly before
 * it (a declaration on the day itself is what a stock check compares against, so it is not the
 * opening). One walk in day order serves them all: after a long silence many checks of one
 * material fire at once, and each summing its own period would be quadratic in the silence.
 */
export function booksAt(book: BookReader, days: readonly number[]): Map<number, BookAt> {
  const wanted = [...new Set(days)].sort((a, b) => a - b);
  const out = new Map<number, BookAt>();
  if (wanted.length === 0) return out;
  const walk = new BookWalk(book, wanted[0]!);
  for (const day of wanted) out.set(day, walk.at(day));
  return out;
}

/**
 * booksAt's walk, one day at a time: `at` is asked for days in ascending order, the first no
 * earlier than `firstDay`. Flows are summed in day order with rounding after each addition, so a
 * day's totals come out the same however many days are asked for together.
 */
class BookWalk {
  private nextDeclaration: number;
  private openingDay: number | null;
  private nextFlow: number;
  // The totals since the opening, as plain numbers: summed into an object's fields, each sum was
  // a new heap number (most of the balance book's allocation).
  private produced = 0;
  private received = 0;
  private consumed = 0;
  private shipped = 0;
  private exported = 0;

  constructor(
    private readonly book: BookReader,
    firstDay: number,
  ) {
    const { flowDays, declarationDays } = book;
    this.nextDeclaration = firstAtOrAfter(declarationDays, firstDay);
    this.openingDay = this.nextDeclaration > 0 ? declarationDays[this.nextDeclaration - 1]! : null;
    this.nextFlow = this.openingDay === null ? 0 : firstAtOrAfter(flowDays, this.openingDay + 1);
  }

  at(day: number): BookAt {
    const { flowDays, declarationDays, flowTotals } = this.book;
    let { nextDeclaration, openingDay, nextFlow, produced, received, consumed, shipped, exported } = this;
    while (nextDeclaration < declarationDays.length && declarationDays[nextDeclaration]! < day) {
      openingDay = declarationDays[nextDeclaration++]!;
      produced = received = consumed = shipped = exported = 0;
      while (nextFlow < flowDays.length && flowDays[nextFlow]! <= openingDay) nextFlow++;
    }
    while (nextFlow < flowDays.length && flowDays[nextFlow]! <= day) {
      const at = nextFlow++ * 5;
      // Each kind rounded on its own after each day, so the sums come out as a day-by-day walk's.
      produced = roundKg(produced + flowTotals[at]!);
      received = roundKg(received + flowTotals[at + 1]!);
      consumed = roundKg(consumed + flowTotals[at + 2]!);
      shipped = roundKg(shipped + flowTotals[at + 3]!);
      exported = roundKg(exported + flowTotals[at + 4]!);
    }
    this.nextDeclaration = nextDeclaration;
    this.openingDay = openingDay;
    this.nextFlow = nextFlow;
    this.produced = produced;
    this.received = received;
    this.consumed = consumed;
    this.shipped = shipped;
    this.exported = exported;
    const openingKg = openingDay === null ? 0 : this.book.declarations.get(openingDay)!.kg;
    return {
      opening: openingDay === null ? null : { day: openingDay, kg: openingKg },
      totals: { produced, received, consumed, shipped, exported },
      bookKg: roundKg(openingKg + produced + received - consumed - shipped),
    };
  }
}

/**
 * The checks that fire of those come due (in firing order), each with its book at the end of its
 * day. A declaration on the same day reconciles a deficit check: the stock check speaks for that
 * day, so a deficit check of a declared day, or a stock check whose declaration is gone, is dropped.
 */
export function fireChecks(due: readonly Pick<FiredCheck, 'kind' | 'material' | 'day'>[], bookOf: (material: string) => BookReader): FiredCheck[] {
  const firing = due.filter((c) => (c.kind === 'stock') === bookOf(c.material).declarations.has(c.day));
  const out: FiredCheck[] = new Array<FiredCheck>(firing.length);
  // Material by material (mostly one), its checks in day order, its book walked once.
  let order: number[] | undefined;
  for (let first = 0; first < firing.length; first += 1) {
    if (out[first] !== undefined) continue;
    const { material } = firing[first]!;
    const book = bookOf(material);
    order ??= [];
    order.length = 0;
    for (let i = first; i < firing.length; i += 1) if (firing[i]!.material === material) order.push(i);
    if (order.length > 1) order.sort((a, b) => firing[a]!.day - firing[b]!.day || a - b);
    const walk = new BookWalk(book, firing[order[0]!]!.day);
    let lastDay = Number.NaN;
    let balance: BookAt | undefined;
    for (const i of order) {
      const c = firing[i]!;
      if (c.day !== lastDay) {
        balance = walk.at(c.day);
        lastDay = c.day;
      }
      out[i] = checkOf(c, book, balance!);
    }
  }
  return out;
}

// The fields written out rather than spread from the balance (fewer steps; the same key order).
function checkOf(c: Pick<FiredCheck, 'kind' | 'material' | 'day'>, book: BookReader, { opening, totals, bookKg }: BookAt): FiredCheck {
  if (c.kind === 'deficit') {
    return { kind: 'deficit', material: c.material, day: c.day, opening, totals, bookKg, subjectIds: [...(book.outflowIds.get(c.day) ?? [])] };
  }
  const declared = book.declarations.get(c.day)!;
  return { kind: 'stock', material: c.material, day: c.day, opening, totals, bookKg, declaredKg: declared.kg, subjectIds: [declared.reportId] };
}
