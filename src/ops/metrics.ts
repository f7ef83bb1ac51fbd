/**
 * Prometheus metrics. A fresh registry per detector instance (no module-level singletons), so
 * tests and embedded runs never share counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  events: Counter<'topic'>;
  alerts: Counter<'rule' | 'severity'>;
  deadLetters: Counter<'topic' | 'code'>;
  batchDuration: Histogram<'topic'>;
  consumerLag: Gauge<'topic' | 'partition'>;
}

export function createMetrics(options: { defaultMetrics?: boolean } = {}): Metrics {
  const registry = new Registry();
  if (options.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'ree_' });
  return {
    registry,
    events: new Counter({ name: 'ree_events_total', help: 'Reports and reference records consumed, by topic', labelNames: ['topic'], registers: [registry] }),
    alerts: new Counter({ name: 'ree_alerts_total', help: 'Alerts published, by rule and severity', labelNames: ['rule', 'severity'], registers: [registry] }),
    deadLetters: new Counter({ name: 'ree_dead_letters_total', help: 'Records sent to the dead-letter topic, by source topic and error code', labelNames: ['topic', 'code'], registers: [registry] }),
    batchDuration: new Histogram({
      name: 'ree_batch_duration_seconds',
      help: 'Time from batch start to committed offsets',
      labelNames: ['topic'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    consumerLag: new Gauge({ name: 'ree_consumer_lag', help: 'Messages behind the partition end after the last batch', labelNames: ['topic', 'partition'], registers: [registry] }),
  };
}
