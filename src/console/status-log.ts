/**
 * Writes triage changes to the status topic and reads its records back. Every console instance
 * follows the topic, so a change made in one shows up in all of them, and survives restarts.
 */
import type { Producer } from 'kafkajs';
import { InvalidRecordError } from '../errors.ts';
import { decodeJsonObject } from '../codec/decode.ts';
import { describeIssue } from './alert-query.ts';
import { alertStatusSchema, replayChanges, type AlertStatus } from './alert-status.ts';

export interface StatusLog {
  publish(status: AlertStatus): Promise<void>;
}

export function createStatusLog(options: { producer: Producer; topic: string }): StatusLog {
  return {
    async publish(status) {
      await options.producer.send({ topic: options.topic, acks: -1, messages: [{ key: status.alertId, value: JSON.stringify(status) }] });
    },
  };
}

export function decodeStatusRecord(value: Buffer | null): AlertStatus {
  if (value === null) throw new InvalidRecordError('REE_ERR_DECODE', 'null value (tombstone) on the status topic');
  const parsed = alertStatusSchema.safeParse(decodeJsonObject(value));
  if (!parsed.success) throw new InvalidRecordError('REE_ERR_VALIDATION', `invalid alert status: ${describeIssue(parsed.error)}`);
  return parsed.data;
}

/**
 * What the index should hold once a record read from the topic meets what it holds, compared by
 * change ids (two histories of equal length may hold different changes); undefined: keep `current`.
 * A record this instance wrote was applied before it came back, so it, or an older record still
 * in flight, adds nothing. Two consoles that each built a change on the same history wrote two
 * records neither of which holds both changes: they are merged, ordered by time then changeId, so
 * every console ends with the same history whichever record it reads first.
 */
export function reconcileStatus(incoming: AlertStatus, current: AlertStatus): AlertStatus | undefined {
  const incomingIds = new Set(incoming.changes.map((c) => c.changeId));
  const currentIds = new Set(current.changes.map((c) => c.changeId));
  const missing = incoming.changes.filter((c) => !currentIds.has(c.changeId));
  if (missing.length === 0) return undefined;
  if (current.changes.every((c) => incomingIds.has(c.changeId))) return incoming;
  const merged = [...current.changes, ...missing].sort((a, b) => a.at - b.at || (a.changeId < b.changeId ? -1 : a.changeId > b.changeId ? 1 : 0));
  return replayChanges(current.alertId, merged);
}
