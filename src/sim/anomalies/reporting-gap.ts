/**
 * reporting-gap anomalies: a producer that reported every working day goes quiet, either for good
 * ('stops') or for four to six weeks before it reports again ('pauses'). The simulator then has it
 * make, ship, receive and declare nothing, and keeps it out of every other anomaly, so the only
 * thing it breaks is its cadence. The label's subject is its last report before the silence.
 *
 * Only magnet makers are silenced: they sit at the end of the chain, so no plant downstream is
 * starved into a silence of its own, and their suppliers sell to others. Producers with a
 * volume-mismatch anomaly open are left alone: its check waits on the producer's own clock.
 */
import { DAY_MS } from '../../domain/time.ts';
import type { InjectionContext, Injector } from './injector.ts';

const RULE = 'reporting-gap' as const;
/** The rule needs six gaps between report days before it judges: two working weeks give ten. */
const FIRST_DAY = 14;
/** A 'pauses' silence lasts this many days: past the rule's 21-day floor with a week to spare. */
const PAUSE_DAYS: [number, number] = [28, 42];

/**
 * Only a producer reporting now can go silent: its last report within the last week. A pause that
 * ended without a report since (its suppliers sold elsewhere meanwhile) would otherwise run on into
 * a second silence with the same last report: one silence labelled twice.
 */
const RECENT_DAYS = 7;

function candidates(ctx: InjectionContext): string[] {
  const recent = (id: string): boolean => {
    const last = ctx.lastReport(id);
    return last !== undefined && last.occurredAt >= ctx.dayStart - RECENT_DAYS * DAY_MS;
  };
  return ctx.world.producers.filter((p) => p.stage === 'MAGNET' && !ctx.silent(p.id) && !p.materials.some((m) => ctx.tainted(p.id, m)) && recent(p.id)).map((p) => p.id);
}

export const reportingGapInjector: Injector = {
  ruleId: RULE,
  weight: 0.2,
  // The finding waits for the watermark to pass the last report (receipts up to two days ahead)
  // plus the 21-day floor, plus the replay's allowed lateness: thirty days covers all three.
  tailDays: 30,
  inject(ctx) {
    if (ctx.day < FIRST_DAY) return false;
    const pool = candidates(ctx);
    if (pool.length === 0) return false;
    const producerId = ctx.rng.pick(pool);
    const last = ctx.lastReport(producerId)!;
    const pauses = ctx.rng.chance(0.5);
    ctx.silence(producerId, pauses ? ctx.rng.int(PAUSE_DAYS[0], PAUSE_DAYS[1]) : Infinity);
    ctx.label(pauses ? 'pauses' : 'stops', { ruleId: RULE, producerId, subjectEventIds: [last.reportId] });
    return true;
  },
};
