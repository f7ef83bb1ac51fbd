/**
 * The pipeline's bookkeeping around producers' outboxes (outbox.ts): which producer's outbox holds
 * each alert handed out, which published alerts are still to be removed from which outbox, and
 * each producer's earliest pending time for the timer index. In-process only: if it is lost (a
 * restart), the published markers still keep a stale outbox entry from being sent twice, and the
 * index's -Infinity entry brings the producer back to clear it.
 */
import type { Alert } from '../domain/events.ts';
import type { ProducerState } from '../state/engine/producer-state.ts';
import { nextTimerDueAt } from '../state/rule-state.ts';
import { outboxOf, revisionOf } from './outbox.ts';

export class OutboxBook {
  /** alertId → the producer whose outbox holds it, for alerts handed out and not yet marked. */
  private readonly holders = new Map<string, string>();
  /** producerId → alertId → revision published, to remove at the producer's next run. */
  private readonly published = new Map<string, Map<string, number>>();

  /** Notes which producer's outbox holds each alert handed out. */
  handedOut(producerId: string, alerts: readonly Alert[]): void {
    for (const a of alerts) this.holders.set(a.alertId, producerId);
  }

  /** After the alerts are durable downstream: remove them from their outboxes at the next run. */
  markPublished(alerts: readonly Alert[]): void {
    for (const a of alerts) {
      const holder = this.holders.get(a.alertId);
      if (holder === undefined) continue;
      this.holders.delete(a.alertId);
      this.notePublished(holder, a.alertId, revisionOf(a));
    }
  }

  notePublished(producerId: string, alertId: string, revision: number): void {
    let m = this.published.get(producerId);
    if (!m) this.published.set(producerId, (m = new Map()));
    m.set(alertId, Math.max(m.get(alertId) ?? 0, revision));
  }

  /** Inside a run: removes what was published from the producer's outbox. */
  clearPublished(state: ProducerState): void {
    const m = this.published.get(state.producerId);
    if (!m) return;
    this.published.delete(state.producerId);
    const outbox = outboxOf(state);
    for (const [alertId, revision] of m) outbox.removePublished(alertId, revision);
  }
}

/** What the timer index holds for a producer: -Infinity while its outbox waits, else its earliest rule timer. */
export function pendingAt(state: ProducerState): number | undefined {
  if (outboxOf(state).size > 0) return -Infinity;
  return nextTimerDueAt(state);
}
