/**
 * Whether the brokers answer right now, for readiness. The consumers cannot tell: kafkajs keeps
 * retrying through an outage and reports a crash only much later, so a probe asks the cluster
 * every few seconds with a client that does not retry.
 */
import type { Admin, Kafka } from 'kafkajs';
import { withDeadline } from '../ops/resources.ts';

export interface BrokerProbe {
  reachable(): boolean;
  stop(): Promise<void>;
}

export async function startBrokerProbe(kafka: Kafka, options: { intervalMs?: number; timeoutMs?: number } = {}): Promise<BrokerProbe> {
  const intervalMs = options.intervalMs ?? 3_000;
  const timeoutMs = options.timeoutMs ?? 2_500;
  const admin: Admin = kafka.admin({ retry: { retries: 0 } });
  let reachable = true;
  let inFlight = false;
  await admin.connect();
  const probe = async () => {
    if (inFlight) return;
    inFlight = true;
    try {
      await withDeadline(admin.describeCluster(), timeoutMs, () => new Error('no answer'));
      reachable = true;
    } catch {
      reachable = false;
    } finally {
      inFlight = false;
    }
  };
  const timer = setInterval(() => void probe(), intervalMs);
  return {
    reachable: () => reachable,
    async stop() {
      clearInterval(timer);
      await admin.disconnect();
    },
  };
}
