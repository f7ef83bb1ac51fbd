/**
 * Consumer-group timing. A member that dies without leaving (kill -9, a lost node) holds its
 * partitions until its session times out; kafkajs's default of 30 s is how long a restarted
 * instance waited. Heartbeats go ten times per session, so a slow batch or a missed beat or two
 * never costs a member its partitions.
 */
import type { ConsumerConfig } from 'kafkajs';

export const DEFAULT_SESSION_TIMEOUT_MS = 10_000;

export function groupTiming(sessionTimeoutMs = DEFAULT_SESSION_TIMEOUT_MS): Pick<ConsumerConfig, 'sessionTimeout' | 'heartbeatInterval'> {
  return { sessionTimeout: sessionTimeoutMs, heartbeatInterval: Math.max(500, Math.floor(sessionTimeoutMs / 10)) };
}
