/**
 * The outbox (DESIGN.md, "Semantics"): the alerts a producer's reports and timers found, saved with
 * the producer's state in the same fenced save, dropped once published. A rule that keeps state is
 * evaluated once per report, so a redelivered batch (its reports already applied) cannot find its
 * alerts again; it re-sends the outbox's unpublished ones instead.
 *
 * Removal is lazy: publishing notes the (alertId, revision) pairs, and the next batch or timer pass
 * that touches the producer removes them before it reads the outbox (see pipeline.ts).
 */
import type { Alert } from '../domain/events.ts';
import { WholeCell } from '../state/engine/cell.ts';
import type { ProducerState } from '../state/engine/producer-state.ts';

export const OUTBOX_CELL = 'outbox';

/** The revision an alert carries; alerts written before revisions existed are revision 1. */
export const revisionOf = (alert: Pick<Alert, 'revision'>): number => alert.revision ?? 1;

export class Outbox extends WholeCell<Alert[]> {
  private readonly byId = new Map<string, Alert>();

  get size(): number {
    return this.byId.size;
  }

  /** Keeps the alert unless a higher revision of it is already waiting. */
  add(alert: Alert): void {
    const held = this.byId.get(alert.alertId);
    if (held && revisionOf(held) >= revisionOf(alert)) return;
    this.byId.set(alert.alertId, alert);
    this.changed();
  }

  /** Drops the alert if the revision waiting is no higher than the one published. */
  removePublished(alertId: string, revision: number): void {
    const held = this.byId.get(alertId);
    if (held && revisionOf(held) <= revision) {
      this.byId.delete(alertId);
      this.changed();
    }
  }

  alerts(): Alert[] {
    return [...this.byId.values()];
  }

  protected toData(): Alert[] | null {
    return this.byId.size === 0 ? null : this.alerts();
  }

  protected fromData(data: Alert[]): void {
    for (const alert of data) this.byId.set(alert.alertId, alert);
  }
}

export const outboxOf = (producer: ProducerState): Outbox => producer.cell(OUTBOX_CELL, () => new Outbox());
