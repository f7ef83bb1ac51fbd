/**
 * Rules' own state on the engine: each rule gets, per producer, cells named `rule:<ruleId>:<name>`
 * in the producer's state, and event-time timers kept in one queue per producer (`timers`), fired
 * in (dueAt, ruleId, key) order once the detector's watermark passes them. Pure: no I/O; the
 * engine loads and saves the producer state around it.
 */
import type { RuleState, TimerPayload } from '../rules/rule.ts';
import type { StateCell } from './engine/cell.ts';
import type { ProducerState } from './engine/producer-state.ts';
import { TimerQueue, type Timer, type TimerPayloadCodec } from './engine/timer-queue.ts';

/** What the producer's timer queue holds for a rule's timer. */
export interface RuleTimer {
  ruleId: string;
  key: string;
  payload: TimerPayload;
}

const CELL_NAME = /^[A-Za-z0-9-]{1,64}$/;
export const TIMERS_CELL = 'timers';
/** Prefix of the cells rules share (RuleState.sharedCell); never a valid rule cell name, which holds no ':'. */
const SHARED = 'shared:';

const byRuleThenKey = (a: RuleTimer, b: RuleTimer): number =>
  a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : a.key < b.key ? -1 : a.key > b.key ? 1 : 0;

const timerKey = (ruleId: string, key: string): string => `${ruleId}|${key}`;

/**
 * A rule timer's rule id and key are its queue key (`ruleId|key`, as setTimer schedules it; a rule
 * id holds no '|'): only the rule's payload is written beside it, and only when not empty.
 */
const ruleTimerCodec: TimerPayloadCodec<RuleTimer> = {
  encode: (t) => (Object.keys(t.payload).length === 0 ? undefined : t.payload),
  decode: (stored, key) => {
    const at = key.indexOf('|');
    return { ruleId: key.slice(0, at), key: key.slice(at + 1), payload: (stored ?? {}) as TimerPayload };
  },
};

/** The producer's queue of rule timers. */
const newTimers = (): TimerQueue<RuleTimer> => new TimerQueue<RuleTimer>(byRuleThenKey, ruleTimerCodec);
export const timersOf = (producer: ProducerState): TimerQueue<RuleTimer> => producer.cell(TIMERS_CELL, newTimers);

/**
 * Each producer's RuleState per rule, made once: the pipeline asks for it for every rule on every
 * report, and a RuleState holds only the producer, the rule id and the cells it has looked up
 * (which stay the same cells), so it can be shared.
 */
const madeFor = new WeakMap<ProducerState, Map<string, RuleState>>();

/** The producer's RuleStates by rule id: for a caller that hands several rules theirs in a row (one WeakMap lookup, not one per rule). */
export function ruleStatesOf(producer: ProducerState): (ruleId: string) => RuleState {
  let byRule = madeFor.get(producer);
  if (!byRule) madeFor.set(producer, (byRule = new Map()));
  const made = byRule;
  return (ruleId) => {
    let state = made.get(ruleId);
    if (!state) made.set(ruleId, (state = makeRuleState(producer, ruleId)));
    return state;
  };
}

/** The RuleState a rule sees for one producer. */
export const ruleStateOf = (producer: ProducerState, ruleId: string): RuleState => ruleStatesOf(producer)(ruleId);

const makeRuleState = (producer: ProducerState, ruleId: string): RuleState => new ProducerRuleState(producer, ruleId);

/**
 * One rule's state for one producer, a class so that its methods live once on the prototype rather
 * than as closures per producer and rule, and its maps of cells are made only when a rule asks for
 * a second cell name (most rules use one cell, held in `lastName`/`lastCell`, and no shared cell).
 */
class ProducerRuleState implements RuleState {
  readonly producerId: string;
  private queue: TimerQueue<RuleTimer> | undefined = undefined;
  // A rule asks for its cells on every report: the name is checked and the producer's cell looked
  // up once (the producer never replaces a cell it made).
  private cells: Map<string, StateCell> | undefined = undefined;
  private shared: Map<string, StateCell> | undefined = undefined;
  private lastName: string | undefined = undefined;
  private lastCell: StateCell | undefined = undefined;
  // The last timer key made: a rule asks after the same timer on report after report, and the
  // same string (its hash kept) is found faster than one made anew.
  private lastKey: string | undefined = undefined;
  private lastFull = '';

  private readonly producer: ProducerState;
  private readonly ruleId: string;

  constructor(producer: ProducerState, ruleId: string) {
    this.producer = producer;
    this.ruleId = ruleId;
    this.producerId = producer.producerId;
  }

  private timers(): TimerQueue<RuleTimer> {
    return (this.queue ??= timersOf(this.producer));
  }

  private fullKey(key: string): string {
    if (key !== this.lastKey) {
      this.lastKey = key;
      this.lastFull = timerKey(this.ruleId, key);
    }
    return this.lastFull;
  }

  cell<C extends StateCell>(name: string, create: () => C): C {
    // Most rules ask for one cell, report after report: the last one asked for is kept at hand,
    // so a map (cold by the time the producer's next report comes) is read only on a change.
    if (name === this.lastName) return this.lastCell as C;
    let cell = this.lastName === undefined ? undefined : (this.cells ??= new Map([[this.lastName, this.lastCell as StateCell]])).get(name);
    if (cell === undefined) {
      if (!CELL_NAME.test(name)) throw new Error(`rule ${this.ruleId}: cell name "${name}" may hold only letters, digits and '-'`);
      cell = this.producer.cell(`rule:${this.ruleId}:${name}`, create);
      this.cells?.set(name, cell);
    }
    this.lastName = name;
    this.lastCell = cell;
    return cell as C;
  }

  sharedCell<C extends StateCell>(name: string, create: () => C): C {
    // Looked up by the bare name (its own map), so no `shared:` key is made on every call.
    let cell = this.shared?.get(name);
    if (cell === undefined) {
      if (!CELL_NAME.test(name)) throw new Error(`rule ${this.ruleId}: shared cell name "${name}" may hold only letters, digits and '-'`);
      (this.shared ??= new Map()).set(name, (cell = this.producer.cell(`${SHARED}${name}`, create)));
    }
    return cell as C;
  }

  setTimer(key: string, dueAt: number, payload: TimerPayload = {}): void {
    const queue = this.timers();
    const k = this.fullKey(key);
    // TimerQueue keeps the earlier of two due times; a rule setting its timer means "this one".
    queue.cancel(k);
    queue.schedule(k, dueAt, { ruleId: this.ruleId, key, payload });
  }

  cancelTimer(key: string): void {
    this.timers().cancel(this.fullKey(key));
  }

  timerDueAt(key: string): number | undefined {
    return this.timers().dueAtOf(this.fullKey(key));
  }
}

/**
 * The producer's RuleStates for a list of rules, index-aligned with it: the pipeline hands the
 * same list (a rule set's rules for one report kind) its states on every report, so the array is
 * made once per producer and list, and a report costs one lookup instead of one per rule.
 */
export function ruleStatesFor(producer: ProducerState, list: readonly { rule: { id: string } }[]): readonly RuleState[] {
  let byList = listsFor.get(producer);
  if (!byList) listsFor.set(producer, (byList = []));
  // A handful of lists (one per report kind) in a short array read in one go: by the producer's
  // next report a second weak map would be one more cold table to read.
  for (let i = 0; i < byList.length; i += 2) if (byList[i] === list) return byList[i + 1] as readonly RuleState[];
  const stateOf = ruleStatesOf(producer);
  const states = list.map((s) => stateOf(s.rule.id));
  // Lists of rule sets replaced by a reload are let go rather than kept beside the new ones.
  if (byList.length >= 2 * MAX_LISTS) byList.length = 0;
  byList.push(list, states);
  return states;
}

/** Lists kept per producer: four report kinds, with room for a reload's. */
const MAX_LISTS = 8;

/** Per producer, the lists ruleStatesFor was asked for, each followed by the RuleStates it made for it. */
const listsFor = new WeakMap<ProducerState, unknown[]>();

/** Removes and returns the producer's rule timers due at or before `watermark`, in firing order. */
export const popDueTimers = (producer: ProducerState, watermark: number): readonly Timer<RuleTimer>[] => timersOf(producer).popDue(watermark);

/** The producer's rule timers due at or before `watermark`, left in place (to fetch what they need first). */
export const peekDueTimers = (producer: ProducerState, watermark: number): readonly Timer<RuleTimer>[] => timersOf(producer).peekDue(watermark);

/** The producer's earliest timer, for an index of producers with timers. */
export const nextTimerDueAt = (producer: ProducerState): number | undefined => timersOf(producer).nextDueAt();
