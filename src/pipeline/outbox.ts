/**
 * The outbox (DESIGN.md, "Semantics"): the alerts a producer's reports and timers found, saved with
 * the producer's state in the same fenced save, dropped once published. A rule that keeps state is
 * evaluated once per report, so a redelivered batch (its reports already applied) cannot find its
 * alerts again; it re-sends the outbox's unpublished ones instead.
 *
 * Live, alerts go out in a Kafka transaction that also commits the batch's input offsets. Each
 * entry handed to one is tagged, in the same save, with that transaction's id and the offset it
 * commits: once the group's committed offset of that topic-partition has reached it, the
 * transaction committed (only the partition's owner commits there, and an aborted transaction's
 * batch is redelivered and re-tags every entry it re-sends), so the entry is dropped.
 *
 * Removal is lazy: the next batch or timer pass that touches the producer removes what was
 * published (by tag, or by the published markers) before it reads the outbox (see pipeline.ts).
 */
import type { Alert } from '../domain/events.ts';
import { WholeCell } from '../state/engine/cell.ts';
import type { ProducerState } from '../state/engine/producer-state.ts';

export const OUTBOX_CELL = 'outbox';

/** The revision an alert carries; alerts written before revisions existed are revision 1. */
export const revisionOf = (alert: Pick<Alert, 'revision'>): number => alert.revision ?? 1;

/** The Kafka transaction an outbox entry was last handed to: its id, and the input offset it commits. */
export interface SentIn {
  txn: string;
  topic: string;
  partition: number;
  /** The next offset to read, as the group commits it (decimal string, as kafkajs has offsets). */
  offset: string;
  /** A timer-only transaction's seq at that offset (committed-offsets.ts); absent for a report batch's: 0. */
  seq?: number;
}

/** Whether the transaction that committed `sentIn.offset` (and seq) on its topic-partition has committed. */
export type CommittedCheck = (sentIn: SentIn) => boolean;

interface Entry {
  alert: Alert;
  sentIn?: SentIn;
}

export class Outbox extends WholeCell<Entry[]> {
  private readonly byId = new Map<string, Entry>();

  get size(): number {
    return this.byId.size;
  }

  /** Keeps the alert unless a higher revision of it is already waiting; a new revision is unsent. */
  add(alert: Alert): void {
    const held = this.byId.get(alert.alertId);
    if (held && revisionOf(held.alert) >= revisionOf(alert)) return;
    this.byId.set(alert.alertId, { alert });
    this.changed();
  }

  /** Drops the alert if the revision waiting is no higher than the one published. */
  removePublished(alertId: string, revision: number): void {
    const held = this.byId.get(alertId);
    if (held && revisionOf(held.alert) <= revision) {
      this.byId.delete(alertId);
      this.changed();
    }
  }

  /** Drops the entries whose transaction has committed. */
  removeCommitted(committed: CommittedCheck): void {
    for (const [alertId, entry] of this.byId) {
      if (entry.sentIn && committed(entry.sentIn)) {
        this.byId.delete(alertId);
        this.changed();
      }
    }
  }

  /**
   * Hands the entries not yet in transaction `sentIn.txn` to it: tags them and returns their alerts.
   * Entries already in it (a timer pass after the batch's own run, in one transaction) are not
   * handed out twice.
   */
  handOut(sentIn: SentIn): Alert[] {
    const out: Alert[] = [];
    for (const entry of this.byId.values()) {
      if (entry.sentIn?.txn === sentIn.txn) continue;
      entry.sentIn = sentIn;
      out.push(entry.alert);
      this.changed();
    }
    return out;
  }

  alerts(): Alert[] {
    return [...this.byId.values()].map((e) => e.alert);
  }

  protected toData(): Entry[] | null {
    return this.byId.size === 0 ? null : [...this.byId.values()];
  }

  protected fromData(data: (Entry | Alert)[]): void {
    // Saved before entries were tagged: a bare alert, never handed to a transaction.
    for (const item of data) {
      const entry = 'alertId' in item ? { alert: item } : item;
      this.byId.set(entry.alert.alertId, entry);
    }
  }
}

const newOutbox = (): Outbox => new Outbox();
export const outboxOf = (producer: ProducerState): Outbox => producer.cell(OUTBOX_CELL, newOutbox);
