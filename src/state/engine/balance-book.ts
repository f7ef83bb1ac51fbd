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
 *   flows:<m>        DaySeries       daily flow totals of material m
 *   stock:<m>        DaySeries       stock declarations of m ({kg, reportId} per day)
 *   outflows:<m>     DaySeries       reportIds of each day's outflows of m (capped)
 * The arithmetic is balance.ts's, shared with the in-memory store, so both give the same numbers.
 */
import { dayEnd, dayOf } from '../../domain/time.ts';
import { booksAt, emptyTotals, roundKg, type MaterialBook } from '../balance.ts';
import { assertKeyPart } from '../keys.ts';
import { SEEN_WINDOW_MS, compareCheckTies, type PendingCheck } from '../memory-store.ts';
import { MAX_SUBJECT_IDS, OUTFLOW_KINDS, RETENTION_DAYS, type ApplyResult, type FiredCheck, type FlowTotals, type StateUpdate } from '../store.ts';
import { AppliedReports } from './applied-reports.ts';
import { Counters } from './counters.ts';
import { DaySeries } from './day-series.ts';
import { LastSeen } from './last-seen.ts';
import type { ProducerState } from './producer-state.ts';
import { TimerQueue } from './timer-queue.ts';

type CheckTimer = Omit<PendingCheck, 'dueAt'>;
interface Declaration {
  kg: number;
  reportId: string;
}

const CLOCK = 'producer';
const OUTFLOWS: ReadonlySet<string> = new Set(OUTFLOW_KINDS);

/** A result read back from storage, with the fields JSON left out put back as undefined. */
function reviveResult(stored: ApplyResult): ApplyResult {
  return {
    reportId: stored.reportId,
    duplicate: false,
    watermark: stored.watermark,
    licenceUsedBeforeKg: stored.licenceUsedBeforeKg,
    licenceUsedAfterKg: stored.licenceUsedAfterKg,
    checks: stored.checks,
  };
}

interface MaterialCells {
  flows: DaySeries<FlowTotals>;
  stock: DaySeries<Declaration>;
  outflows: DaySeries<string[]>;
}

function materialCells(state: ProducerState, material: string): MaterialCells {
  return {
    flows: state.cell(`flows:${material}`, () => new DaySeries<FlowTotals>()),
    stock: state.cell(`stock:${material}`, () => new DaySeries<Declaration>()),
    outflows: state.cell(`outflows:${material}`, () => new DaySeries<string[]>()),
  };
}

/** The cells seen as balance.ts's MaterialBook, for its day-ordered arithmetic (read only). */
const bookView = ({ flows, stock, outflows }: MaterialCells): MaterialBook => ({
  days: flows.values,
  flowDays: flows.days,
  declarations: stock.values,
  declarationDays: stock.days,
  outflowIds: outflows.values,
});

/** Forgets what RETENTION_DAYS allows (see store.ts): everything up to the latest declaration on or before the cutoff, but that declaration. */
function prune(cells: MaterialCells, cutoffDay: number): void {
  const openingDay = cells.stock.lastDayAtOrBefore(cutoffDay);
  if (openingDay === undefined) return;
  cells.stock.deleteBefore(openingDay);
  cells.flows.deleteBefore(openingDay + 1);
  cells.outflows.deleteBefore(openingDay + 1);
}

/** Applies one update to its producer's state; the result is what the in-memory store would return. */
export function applyToBook(state: ProducerState, u: StateUpdate): ApplyResult {
  const applied = state.cell('applied', () => new AppliedReports<ApplyResult>(SEEN_WINDOW_MS, reviveResult));
  const seen = applied.get(u.reportId);
  if (seen) return { ...seen.result, duplicate: true };

  const timers = state.cell('checks', () => new TimerQueue<CheckTimer>(compareCheckTies));
  const materials = new Map<string, MaterialCells>();
  const cellsOf = (material: string): MaterialCells => {
    let cells = materials.get(material);
    if (!cells) {
      assertKeyPart(material, 'material');
      materials.set(material, (cells = materialCells(state, material)));
    }
    return cells;
  };
  const schedule = (kind: CheckTimer['kind'], material: string, day: number, dueAt: number) =>
    timers.schedule(`${kind}|${material}|${day}`, dueAt, { kind, material, day });

  const day = dayOf(u.occurredAt);
  const dueAt = dayEnd(day) + u.graceMs;
  for (const flow of u.flows) {
    const cells = cellsOf(flow.material);
    cells.flows.update(day, emptyTotals, (totals) => {
      totals[flow.kind] = roundKg(totals[flow.kind] + flow.kg);
    });
    if (OUTFLOWS.has(flow.kind)) {
      cells.outflows.update(day, () => [], (ids) => {
        if (ids.length < MAX_SUBJECT_IDS && !ids.includes(u.reportId)) ids.push(u.reportId);
      });
      schedule('deficit', flow.material, day, dueAt);
    }
  }
  if (u.declaration) {
    cellsOf(u.declaration.material).stock.set(day, { kg: u.declaration.onHandKg, reportId: u.reportId });
    schedule('stock', u.declaration.material, day, dueAt);
  }

  let licenceUsedBeforeKg: number | undefined;
  let licenceUsedAfterKg: number | undefined;
  if (u.licenceUse) {
    const use = state.cell('licence-use', () => new Counters()).add(u.licenceUse.licenceId, u.licenceUse.kg);
    licenceUsedBeforeKg = use.before;
    licenceUsedAfterKg = use.after;
  }

  // The in-memory store's clock starts at 0, so an event before the epoch never moves it.
  const clock = state.cell('clock', () => new LastSeen()).advance(CLOCK, Math.max(0, u.occurredAt));
  // A declaration on the same day reconciles a deficit check: the stock check speaks for that day.
  const firing = timers.popDue(clock).filter((t) => (t.payload.kind === 'stock') === cellsOf(t.payload.material).stock.has(t.payload.day));
  const daysByMaterial = new Map<string, number[]>();
  for (const { payload } of firing) {
    const days = daysByMaterial.get(payload.material);
    if (days) days.push(payload.day);
    else daysByMaterial.set(payload.material, [payload.day]);
  }
  const balances = new Map([...daysByMaterial].map(([material, days]) => [material, booksAt(bookView(cellsOf(material)), days)]));
  const checks: FiredCheck[] = firing.map(({ payload: c }) => {
    const cells = cellsOf(c.material);
    const balance = balances.get(c.material)!.get(c.day)!;
    if (c.kind === 'deficit') {
      return { kind: 'deficit', material: c.material, day: c.day, ...balance, subjectIds: [...(cells.outflows.get(c.day) ?? [])] };
    }
    const declared = cells.stock.get(c.day)!;
    return { kind: 'stock', material: c.material, day: c.day, ...balance, declaredKg: declared.kg, subjectIds: [declared.reportId] };
  });

  // After the checks, so nothing this report fires reads a pruned day; only the materials it touches.
  const cutoffDay = dayOf(clock) - RETENTION_DAYS;
  for (const flow of u.flows) prune(cellsOf(flow.material), cutoffDay);
  if (u.declaration) prune(cellsOf(u.declaration.material), cutoffDay);

  const result: ApplyResult = { reportId: u.reportId, duplicate: false, watermark: clock, licenceUsedBeforeKg, licenceUsedAfterKg, checks };
  applied.remember(u.reportId, clock, result);
  return result;
}
