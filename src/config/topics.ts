/**
 * Topic names and their layout. Names come from a prefix so several deployments (or test runs)
 * can share one cluster without seeing each other's records.
 */
export type TopicKind =
  | 'production'
  | 'shipments'
  | 'receipts'
  | 'inventory'
  | 'licences'
  | 'watchlist'
  | 'quotas'
  | 'alerts'
  | 'deadletter';

export const TOPIC_KINDS: readonly TopicKind[] = [
  'production',
  'shipments',
  'receipts',
  'inventory',
  'licences',
  'watchlist',
  'quotas',
  'alerts',
  'deadletter',
];

/** Report topics carry per-producer events; they are what the detector's main consumer group reads. */
export const REPORT_TOPIC_KINDS = ['production', 'shipments', 'receipts', 'inventory'] as const;
export type ReportTopicKind = (typeof REPORT_TOPIC_KINDS)[number];

/** Reference-data topics are compacted: the latest value per key is the truth, a tombstone deletes. */
export const COMPACTED_TOPIC_KINDS: readonly TopicKind[] = ['licences', 'watchlist', 'quotas'];

/**
 * Report topics keep their records until an operator says otherwise (retention.ms -1). Record times
 * are whatever producers set, and a backlog loaded today may carry last year's report times: under
 * the broker's time retention those records would be deleted as soon as they landed, and with them
 * the history a rebuild of the state replays. Disk is bounded by retention.bytes if one is set.
 */
export const REPORT_TOPIC_RETENTION = { name: 'retention.ms', value: '-1' } as const;

function configEntriesOf(kind: TopicKind): { name: string; value: string }[] {
  if (COMPACTED_TOPIC_KINDS.includes(kind)) return [{ name: 'cleanup.policy', value: 'compact' }];
  if ((REPORT_TOPIC_KINDS as readonly TopicKind[]).includes(kind)) return [{ ...REPORT_TOPIC_RETENTION }];
  return [];
}

export type TopicNames = Record<TopicKind, string>;

export function topicNames(prefix = 'ree'): TopicNames {
  const names = {} as TopicNames;
  for (const kind of TOPIC_KINDS) names[kind] = `${prefix}.${kind}.v1`;
  return names;
}

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  configEntries: { name: string; value: string }[];
}

export function topicSpecs(
  prefix = 'ree',
  options: { partitions?: number; replicationFactor?: number } = {},
): TopicSpec[] {
  const names = topicNames(prefix);
  return TOPIC_KINDS.map((kind) => ({
    topic: names[kind],
    numPartitions: options.partitions ?? 6,
    replicationFactor: options.replicationFactor ?? 1,
    configEntries: configEntriesOf(kind),
  }));
}

/**
 * The enforcement console's triage log: compacted, keyed by alertId, one JSON record per change
 * carrying the alert's whole status history. Written only by `console`, so it is not one of the
 * detector's TOPIC_KINDS (which `run` creates and the Avro encoder registers).
 */
export function alertStatusTopicSpec(prefix = 'ree', options: { partitions?: number; replicationFactor?: number } = {}): TopicSpec {
  return {
    topic: `${prefix}.alert-status.v1`,
    numPartitions: options.partitions ?? 6,
    replicationFactor: options.replicationFactor ?? 1,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  };
}
