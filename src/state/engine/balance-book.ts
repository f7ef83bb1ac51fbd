/**
 * The balance book (volume-mismatch) and licence use (licence-quota-exceeded) as state on the
 * engine: today's StateStore semantics, step for step the in-memory store's applyOne, but kept in
 * engine cells so it loads, saves and evicts like any rule's state.
 *
 * Cells of a producer:
 *   clock            LastSeen        the producer's clock: the largest occurredAt so far
 *   checks           TimerQueue      balance checks waiting for their grace on the producer's clock
 *   applied          AppliedReports  reports already included, with their results (idempotence)
 *   licence-use      Counters        kg exported under each licence
 *   book:<m>         MaterialBook    material m's daily flow totals, stock declarations and
 *                                    outflow reportIds per day (capped), saved in chunks of days
 * The arithmetic is balance.ts's, shared with the in-memory store, so both give the same numbers.
 */
import { dayEnd, dayOf } from '../../domain/time.ts';
import { fireChecks } from '../balance.ts';
import { assertKeyPart } from '../keys.ts';
import { SEEN_WINDOW_MS, compareCheckTies, type PendingCheck } from '../book-timing.ts';
import { FLOW_KINDS, MAX_SUBJECT_IDS, OUTFLOW_KINDS, RETENTION_DAYS, type ApplyResult, type FiredCheck, type FlowTotals, type StateUpdate } from '../store.ts';
import { AppliedReports, type ResultCodec } from './applied-reports.ts';
import { Counters } from './counters.ts';
import { LastSeen } from './last-seen.ts';
import { MaterialBookCell } from './material-book.ts';
import type { ProducerState } from './producer-state.ts';
import { TimerQueue, type TimerPayloadCodec } from './timer-queue.ts';

type CheckTimer = Omit<PendingCheck, 'dueAt'>;

const CLOCK = 'producer';
const OUTFLOWS: ReadonlySet<string> = new Set(OUTFLOW_KINDS);

/**
 * A fired check as a list in a fixed order: [kind (0 deficit, 1 stock), material, day, opening
 * ([day, kg] or null), totals in FLOW_KINDS order, bookKg, declaredKg (null for a deficit),
 * subjectIds]. Results were first written with checks as objects, which is still read.
 */
type StoredCheck = [kind: 0 | 1, material: string, day: number, opening: [number, number] | null, totals: number[], bookKg: number, declaredKg: number | null, subjectIds: string[]];

const encodeCheck = (c: FiredCheck): StoredCheck => [
  c.kind === 'deficit' ? 0 : 1,
  c.material,
  c.day,
  c.opening ? [c.opening.day, c.opening.kg] : null,
  // FLOW_KINDS order, spelled out: a list and a callback less per check.
  [c.totals.produced, c.totals.received, c.totals.consumed, c.totals.shipped, c.totals.exported],
  c.bookKg,
  c.declaredKg ?? null,
  // Not copied: the stored form is made into text at once (applied-reports.ts, heldOf) and not kept.
  c.subjectIds,
];

function decodeCheck(stored: StoredCheck | FiredCheck): FiredCheck {
  if (!Array.isArray(stored)) return stored;
  const [kind, material, day, opening, totals, bookKg, declaredKg, subjectIds] = stored;
  const check: FiredCheck = {
    kind: kind === 0 ? 'deficit' : 'stock',
    material,
    day,
    opening: opening ? { day: opening[0], kg: opening[1] } : null,
    totals: Object.fromEntries(FLOW_KINDS.map((k, i) => [k, totals[i]!])) as FlowTotals,
    bookKg,
    subjectIds,
  };
  if (declaredKg !== null) check.declaredKg = declaredKg;
  return check;
}

/** A result is mostly a clock and nothing else; its reportId and watermark are stored beside it already. */
type StoredResult = 0 | [before: number | null, after: number | null, checks: (StoredCheck | FiredCheck)[]];
const resultCodec: ResultCodec<ApplyResult> = {
  encode: (r): StoredResult => (r.licenceUsedBeforeKg === undefined && r.checks.length === 0 ? 0 : [r.licenceUsedBeforeKg ?? null, r.licenceUsedAfterKg ?? null, r.checks.map(encodeCheck)]),
  decode: (stored, reportId, watermark) => {
    const s = stored as StoredResult;
    return {
      reportId,
      duplicate: false,
      watermark,
      licenceUsedBeforeKg: s === 0 ? undefined : (s[0] ?? undefined),
      licenceUsedAfterKg: s === 0 ? undefined : (s[1] ?? undefined),
      checks: s === 0 ? [] : s[2].map(decodeCheck),
    };
  },
};

/** The book's cells of one producer, looked up once per producer rather than once per report. */
interface BookCells {
  applied: AppliedReports<ApplyResult>;
  timers: TimerQueue<CheckTimer>;
  clock: LastSeen;
  licenceUse: Counters;
  state: ProducerState;
  materials: Map<string, MaterialBookCell>;
  /**
   * Each material's last deficit check asked for: its day, its key (the same string, its hash
   * kept, is found faster than one made anew) and the due time of its pending timer as last seen
   * (NaN when not known). A day's outflows ask for the same check again and again.
   */
  deficits: Map<string, DeficitCheck>;
  /**
   * The clock of the last popDue: every pending check is due after it, so a check last seen due
   * after it is still pending, at that time (only this file schedules or pops these timers).
   */
  popped: number;
  /** No pending check is due before this (a lower bound): below it, popDue has nothing to give. */
  nextDue: number;
}

interface DeficitCheck {
  day: number;
  key: string;
  dueAt: number;
}

const cellsByProducer = new WeakMap<ProducerState, BookCells>();

function cellsOf(state: ProducerState): BookCells {
  let cells = cellsByProducer.get(state);
  if (!cells) {
    cells = {
      applied: state.cell('applied', () => new AppliedReports<ApplyResult>(SEEN_WINDOW_MS, resultCodec)),
      timers: state.cell('checks', () => new TimerQueue<CheckTimer>(compareCheckTies, checkTimerCodec)),
      clock: state.cell('clock', () => new LastSeen()),
      licenceUse: state.cell('licence-use', () => new Counters()),
      state,
      materials: new Map(),
      deficits: new Map(),
      // Nothing known of the timers as loaded: the first report pops.
      popped: Number.NEGATIVE_INFINITY,
      nextDue: Number.NEGATIVE_INFINITY,
    };
    cellsByProducer.set(state, cells);
  }
  return cells;
}

function bookOf(cells: BookCells, material: string): MaterialBookCell {
  let book = cells.materials.get(material);
  if (!book) {
    book = cells.state.cell(`book:${material}`, () => new MaterialBookCell());
    cells.materials.set(material, book);
  }
  return book;
}

const checkKey = ({ kind, material, day }: CheckTimer): string => `${kind}|${material}|${day}`;

/** Every outflow of a day asks again for its check: one already due no later is left as it is, with no payload made. */
function scheduleCheck(cells: BookCells, kind: CheckTimer['kind'], material: string, day: number, dueAt: number, key = `${kind}|${material}|${day}`): number {
  const existing = cells.timers.dueAtOf(key);
  if (existing !== undefined && existing <= dueAt) return existing;
  cells.timers.schedule(key, dueAt, { kind, material, day });
  if (dueAt < cells.nextDue) cells.nextDue = dueAt;
  return dueAt;
}

/** scheduleCheck for a day's deficit check, answered from what was last seen of it where it can be. */
function scheduleDeficit(cells: BookCells, material: string, day: number, dueAt: number): void {
  let last = cells.deficits.get(material);
  if (last === undefined) cells.deficits.set(material, (last = { day, key: `deficit|${material}|${day}`, dueAt: Number.NaN }));
  else if (last.day !== day) {
    last.day = day;
    last.key = `deficit|${material}|${day}`;
    last.dueAt = Number.NaN;
  }
  // Still pending (due after the last pop) and due no later: nothing to change, as scheduleCheck would find.
  if (last.dueAt > cells.popped && last.dueAt <= dueAt) return;
  last.dueAt = scheduleCheck(cells, 'deficit', material, day, dueAt, last.key);
}

/**
 * A pending check is all in its key, `kind|material|day`: stored as the key alone. The kind and the
 * day hold no '|', so the material is what lies between the first and the last one.
 */
const checkTimerCodec: TimerPayloadCodec<CheckTimer> = {
  encode: (check, key) => (key === checkKey(check) ? undefined : check),
  decode: (stored, key) => {
    if (stored !== undefined) return stored as CheckTimer;
    const first = key.indexOf('|');
    const last = key.lastIndexOf('|');
    return { kind: key.slice(0, first) as CheckTimer['kind'], material: key.slice(first + 1, last), day: Number(key.slice(last + 1)) };
  },
};

/** Applies one update to its producer's state; the result is what the in-memory store would return. */
export function applyToBook(state: ProducerState, u: StateUpdate): ApplyResult {
  const cells = cellsOf(state);
  const seen = cells.applied.get(u.reportId);
  if (seen) return { ...seen.result, duplicate: true };
  const { timers } = cells;
  // Materials name cells, and so fields in Redis: refused before anything changes.
  for (const flow of u.flows) assertKeyPart(flow.material, 'material');
  if (u.declaration) assertKeyPart(u.declaration.material, 'material');

  const day = dayOf(u.occurredAt);
  const dueAt = dayEnd(day) + u.graceMs;
  for (const flow of u.flows) {
    const book = bookOf(cells, flow.material);
    book.flows.add(day, flow.kind, flow.kg);
    if (OUTFLOWS.has(flow.kind)) {
      book.addOutflow(day, u.reportId);
      scheduleDeficit(cells, flow.material, day, dueAt);
    }
  }
  if (u.declaration) {
    bookOf(cells, u.declaration.material).stock.set(day, { kg: u.declaration.onHandKg, reportId: u.reportId });
    scheduleCheck(cells, 'stock', u.declaration.material, day, dueAt);
  }

  let licenceUsedBeforeKg: number | undefined;
  let licenceUsedAfterKg: number | undefined;
  if (u.licenceUse) {
    const use = cells.licenceUse.add(u.licenceUse.licenceId, u.licenceUse.kg);
    licenceUsedBeforeKg = use.before;
    licenceUsedAfterKg = use.after;
  }

  // The in-memory store's clock starts at 0, so an event before the epoch never moves it.
  const clock = cells.clock.advance(CLOCK, Math.max(0, u.occurredAt));
  let checks: FiredCheck[] = [];
  // Most reports bring nothing due: known without asking the queue.
  if (clock >= cells.nextDue) {
    const due = timers.popDue(clock);
    cells.popped = clock;
    cells.nextDue = timers.nextDueAt() ?? Number.POSITIVE_INFINITY;
    if (due.length > 0)
      checks = fireChecks(
        due.map((t) => t.payload),
        (material) => bookOf(cells, material).view,
      );
  }
  cells.popped = clock;

  // After the checks, so nothing this report fires reads a pruned day; only the materials it touches.
  const cutoffDay = dayOf(clock) - RETENTION_DAYS;
  for (const flow of u.flows) bookOf(cells, flow.material).prune(cutoffDay);
  if (u.declaration) bookOf(cells, u.declaration.material).prune(cutoffDay);

  const result: ApplyResult = { reportId: u.reportId, duplicate: false, watermark: clock, licenceUsedBeforeKg, licenceUsedAfterKg, checks };
  cells.applied.remember(u.reportId, clock, result);
  return result;
}
