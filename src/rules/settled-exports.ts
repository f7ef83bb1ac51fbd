/**
 * A producer's recent exports, judged once they are settled: once the event-time watermark has
 * passed a shipment's occurredAt, every export that happened before it has arrived (within the
 * detector's allowed lateness), so a judgement against "the producer's exports before this one"
 * reads the same set whatever order the reports came in, live or in a replay. Used by the rules
 * that judge an export against the exporter's own history (volume-spike, split-shipments).
 *
 * State: `exports`, the exports per material in event-time order, one cell the rules share
 * (RuleState.sharedCell: both kept the very same list, and it was a quarter of a producer's
 * Redis memory twice); in each rule's own cells, `settled`, the watermark up to which that rule
 * judged them, and one timer `settle` at the earliest export it has not judged yet.
 *
 * Whichever rule sees an export first adds it; the other finds it there. That is safe because a
 * rule's evaluate runs once per report (a redelivered report is not evaluated again, rule.ts), so
 * finding an export already held is not a sign of a repeat. State saved when each rule kept its
 * own copy (`rule:<ruleId>:exports`) is moved into the shared cell on first use, and the rule's
 * copy deleted.
 */
import type { Catalogue } from '../domain/catalogue.ts';
import type { ShipmentReport } from '../domain/events.ts';
import { DAY_MS } from '../domain/time.ts';
import { LastSeen } from '../state/engine/last-seen.ts';
import { RecentEvents, type RecentEvent } from '../state/engine/recent-events.ts';
import type { AlertDraft, ParamsFor, Rule, RuleState } from './rule.ts';

/** What is kept of an export: short names, since it is saved with the producer's state. */
export interface ExportFacts {
  /** quantityKg */
  kg: number;
  clientId: string;
  dest: string;
  mode: ShipmentReport['transportMode'];
  shipmentId: string;
  licenceId: string | null;
}

export type SeenExport = RecentEvent<ExportFacts>;

/**
 * Bounds of the history kept per material: enough for a trailing baseline of 60 exports over
 * 120 days plus what arrives before they settle. A producer shipping more than this in a few days
 * loses its oldest exports first.
 */
const LIMITS = { maxPerKey: 160, maxAgeMs: 120 * DAY_MS };
const SETTLE_TIMER = 'settle';
const SETTLED_KEY = 'watermark';
const EXPORTS = 'exports';

export const exportFactsOf = (s: ShipmentReport): ExportFacts => ({ kg: s.quantityKg, clientId: s.clientId, dest: s.destinationCountry, mode: s.transportMode, shipmentId: s.shipmentId, licenceId: s.licenceId ?? null });

/** What evaluate or a timer should judge now. */
export interface ToJudge {
  /** The watermark the exports are settled up to. */
  settledTo: number;
  /** Per material, the exports newly settled (or arrived after settling), oldest first. */
  byMaterial: ReadonlyMap<string, SeenExport[]>;
}

/** Nothing to judge, shared: most exports wait for the watermark, and a new Map for each was garbage per export and rule. */
const NOTHING: ReadonlyMap<string, SeenExport[]> = new Map();

/**
 * Per RuleState, the shared cell once the rule's own copy has been moved into it: a RuleState
 * lives as long as the producer state it was made for, which never replaces a cell it made
 * (state reloaded from storage is a new producer state, with new RuleStates), so the move is
 * checked once per producer and rule rather than on every export and settle.
 */
const moved = new WeakMap<RuleState, RecentEvents<ExportFacts>>();

const newSettled = (): LastSeen => new LastSeen();

export class SettledExports {
  constructor(private readonly state: RuleState) {}

  private exports(): RecentEvents<ExportFacts> {
    const known = moved.get(this.state);
    if (known !== undefined) return known;
    const shared = this.state.sharedCell(EXPORTS, () => new RecentEvents<ExportFacts>(LIMITS));
    const own = this.state.cell(EXPORTS, () => new RecentEvents<ExportFacts>(LIMITS));
    if (!own.isEmpty()) {
      // The rule's own copy, as first stored: the same exports as the shared cell's, or as the other
      // rule's copy being moved too; adding is without repeats, and the limits keep the same events.
      for (const material of [...own.keys()]) for (const e of own.list(material)) shared.add(material, e);
      own.clear();
    }
    moved.set(this.state, shared);
    return shared;
  }

  private settledCell(): LastSeen {
    return this.state.cell('settled', newSettled);
  }

  settledTo(): number {
    return this.settledCell().get(SETTLED_KEY) ?? -Infinity;
  }

  /** The material's exports up to `until` (event time), oldest first. */
  list(material: string, until = Infinity): readonly SeenExport[] {
    const all = this.exports().list(material);
    // The list is in event-time order: those up to `until` are its front, found by bisection
    // rather than a filter's call per export (up to 160 on every judging).
    return until === Infinity ? all : all.slice(0, firstAfter(all, until));
  }

  /**
   * Records an export. One that happened at or before the settled watermark (a report later than
   * the allowed lateness) is judged at once; others wait for the watermark.
   */
  record(s: ShipmentReport): ToJudge {
    const event: SeenExport = { id: s.reportId, at: s.occurredAt, value: exportFactsOf(s) };
    const settledTo = this.settledTo();
    const exports = this.exports();
    // Not added when the other rule sharing the cell has added it already (see above): judge the one held.
    const held = exports.add(s.material, event) ? event : heldWithId(exports.list(s.material), event.id);
    if (held === undefined) return { settledTo, byMaterial: NOTHING }; // already out of the window
    if (held.at <= settledTo) return { settledTo, byMaterial: new Map([[s.material, [held]]]) };
    const due = this.state.timerDueAt(SETTLE_TIMER);
    if (due === undefined || held.at < due) this.state.setTimer(SETTLE_TIMER, held.at);
    return { settledTo, byMaterial: NOTHING };
  }

  /** On the settle timer: the exports the watermark has passed since last time; re-arms the timer for the rest. */
  settle(watermark: number): ToJudge {
    const before = this.settledTo();
    if (watermark <= before) return { settledTo: before, byMaterial: NOTHING };
    this.settledCell().advance(SETTLED_KEY, watermark);
    const byMaterial = new Map<string, SeenExport[]>();
    let next = Infinity;
    const exports = this.exports();
    for (const material of exports.keys()) {
      // The list is in event-time order, so what settles now is one run of it: found by bisection
      // rather than by walking the up to 160 exports already judged on every settle.
      const list = exports.list(material);
      let i = firstAfter(list, before);
      const from = i;
      while (i < list.length && list[i]!.at <= watermark) i += 1;
      if (i > from) byMaterial.set(material, list.slice(from, i));
      if (i < list.length && list[i]!.at < next) next = list[i]!.at;
    }
    if (next !== Infinity) this.state.setTimer(SETTLE_TIMER, next);
    return { settledTo: watermark, byMaterial };
  }
}

/** The export of that id, looked for from the newest: the one another rule has just added is at or near the end. */
function heldWithId(list: readonly SeenExport[], id: string): SeenExport | undefined {
  for (let i = list.length - 1; i >= 0; i -= 1) if (list[i]!.id === id) return list[i];
  return undefined;
}

/** The index of the first export later than `time` in a list in event-time order (its length if none is). */
function firstAfter(list: readonly SeenExport[], time: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.at > time) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** The exports before `e` in event time (ties by id, as RecentEvents orders them) and within `days` of it, newest last. */
export function exportsBefore(list: readonly SeenExport[], e: SeenExport, days: number, max: number): SeenExport[] {
  const end = indexOfExport(list, e);
  return list.slice(startOfHistory(list, end, e.at, days, max), end);
}

/**
 * Where `e` (or the export of its id: ids are held once) is in the list, its length if absent.
 * Looked for from the newest end: the exports judged are those just settled, near the end of a
 * list of up to 160, each a cold object to read.
 */
function indexOfExport(list: readonly SeenExport[], e: SeenExport): number {
  for (let i = list.length - 1; i >= 0; i -= 1) if (list[i] === e || list[i]!.id === e.id) return i;
  return list.length;
}

/**
 * Where the history of the export at `end` (event time `at`) starts: the list is in event-time
 * order, so the last `max` exports within `days` before it are one run ending just before it,
 * found by walking back rather than gathered and then cut.
 */
export function startOfHistory(list: readonly SeenExport[], end: number, at: number, days: number, max: number): number {
  const since = at - days * DAY_MS;
  let start = end;
  while (start > 0 && end - start < max && list[start - 1]!.at >= since) start -= 1;
  return start;
}

/** What a rule judging settled exports is handed each time some are ready. */
export interface SettledJudgement {
  state: RuleState;
  exports: SettledExports;
  toJudge: ToJudge;
  catalogue: Catalogue;
}

/**
 * The evaluate and onTimer of a rule that judges a producer's exports once settled: each EXPORT
 * is recorded (and `onExport` sees it first), and `judge` gets whatever is ready to be judged.
 */
export function judgingSettledExports<P>(
  judge: (j: SettledJudgement, params: ParamsFor<P>) => AlertDraft[],
  onExport?: (state: RuleState, shipment: ShipmentReport) => void,
): Pick<Rule<P>, 'kinds' | 'evaluate' | 'onTimer'> {
  return {
    kinds: ['shipments'],
    evaluate({ report, state, catalogue }, params) {
      if (report.kind !== 'shipments' || report.event.direction !== 'EXPORT') return [];
      onExport?.(state, report.event);
      const exports = new SettledExports(state);
      return judge({ state, exports, toJudge: exports.record(report.event), catalogue }, params);
    },
    onTimer({ state, watermark, catalogue }, params) {
      const exports = new SettledExports(state);
      return judge({ state, exports, toJudge: exports.settle(watermark), catalogue }, params);
    },
  };
}
