/**
 * Writes triage changes to the status topic and reads its records back. Every console instance
 * follows the topic, so a change made in one shows up in all of them, and survives restarts.
 */
import type { Producer } from 'kafkajs';
import { InvalidRecordError } from '../errors.ts';
import { decodeJsonObject } from '../codec/decode.ts';
import { describeIssue } from './alert-query.ts';
import { alertStatusSchema, type AlertStatus } from './alert-status.ts';

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
 * Whether a record read from the topic should replace what the index holds. A record this
 * instance wrote was applied before it came back; an older record still in flight must not undo it.
 */
export function supersedes(incoming: AlertStatus, current: AlertStatus): boolean {
  if (incoming.changes.length >= current.changes.length) return true;
  return !incoming.changes.every((change, i) => change.changeId === current.changes[i]!.changeId);
}
