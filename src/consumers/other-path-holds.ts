/**
 * A watchlist-match is found by two paths: a report batch (a shipment to a client already listed)
 * and a watchlist change (a listing of a client already seen). Either may publish it, and the
 * published markers tell the other not to. But a path marks only after its Kafka transaction has
 * committed: a crash in between leaves committed alerts unmarked, held in that path's journal
 * (txn-journal.ts) until the path's next owner settles them, and the other path may ask
 * "published yet?" before then — on another instance, or on the restarted one, whose watchlist
 * consumer catches up before its report consumer joins. So each path also asks the other's
 * journals (pipeline.ts, `heldByOtherPath`).
 *
 * The two directions differ. A report batch's transaction holds what its producers' outboxes
 * send, and an outbox entry stays until its transaction has committed or the alert is marked: so
 * whatever a report journal holds, committed or not (still open, aborted, a fenced zombie's), the
 * report path publishes itself, and the watchlist path leaves every such alert to it. A watchlist
 * change has no outbox: once its offset is committed nothing screens it again, so the report path
 * leaves an alert to it only when the watchlist transaction holding it is the one its
 * partition's committed offset names (committed-offsets.ts), which read is only made when a
 * watchlist journal holds something. A watchlist transaction still open is not counted here: two
 * paths finding one alert at once, neither committed, are kept apart by claims (store.ts
 * claimAlerts, pipeline.ts claimContested).
 *
 * A journal is one Redis hash per partition: the report group's per partition index, the
 * watchlist group's per watchlist partition. Which partitions there are comes from the topics'
 * metadata: read at start, again at each assignment of the report group (a partition added to a
 * report topic rebalances it), and again in the background when a read finds it older than a
 * minute (a partition added to the watchlist topic rebalances only the watchlist group).
 */
import type { Admin } from 'kafkajs';
import { ReeError, errorMessage } from '../errors.ts';
import { retry } from '../ops/retry.ts';
import { revisionOf } from '../pipeline/outbox.ts';
import type { PublishingPath } from '../pipeline/pipeline.ts';
import { readCommitted } from '../producers/reference-transactions.ts';
import type { TxnJournal } from './txn-journal.ts';

/**
 * The highest revision of each alert that the transactions held for these partitions carry; with
 * `counts`, only those of the transactions it accepts, asked only when something is held.
 */
export async function heldRevisions(
  journal: TxnJournal,
  partitions: readonly number[],
  counts?: () => Promise<(partition: number, txn: string) => boolean>,
): Promise<Map<string, number>> {
  const byPartition = await Promise.all(partitions.map(async (p) => [p, await journal.held(p)] as const));
  const held = new Map<string, number>();
  if (byPartition.every(([, txns]) => txns.size === 0)) return held;
  const accepts = counts ? await counts() : () => true;
  for (const [p, txns] of byPartition) {
    for (const [txn, alerts] of txns) {
      if (!accepts(p, txn)) continue;
      for (const a of alerts) held.set(a.alertId, Math.max(held.get(a.alertId) ?? 0, revisionOf(a)));
    }
  }
  return held;
}

/** How old the partitions known may get before a read refreshes them in the background. */
const REFRESH_AFTER_MS = 60_000;

export interface OtherPathHolds {
  /** What the journals of the path other than `asking` hold: highest revision by alertId. */
  heldByOtherPath(asking: PublishingPath): Promise<ReadonlyMap<string, number>>;
  /** Reads the topics' partitions again. */
  refresh(): Promise<void>;
  /** The same, not awaited: a failure goes to `onRefreshError`, and the partitions known stay. */
  refreshInBackground(): void;
}

export function createOtherPathHolds(options: {
  admin: Pick<Admin, 'fetchTopicMetadata' | 'fetchOffsets'>;
  journals: Readonly<Record<PublishingPath, TxnJournal>>;
  /** The report topics (co-partitioned: a report journal per partition index) and the watchlist topic. */
  topics: { reports: readonly string[]; watchlist: string };
  /** The watchlist consumer group, whose committed offsets name its transactions. */
  watchlistGroupId: string;
  /** A background read of the topics' partitions failed (the partitions known are still read). */
  onRefreshError?: ((err: unknown) => void) | undefined;
  /** The clock of the background re-read only (default Date.now). */
  now?: () => number;
}): OtherPathHolds {
  const partitions: Record<PublishingPath, number[]> = { reports: [], watchlist: [] };
  const idsOf = (metadata: { partitions: { partitionId: number }[] }[]) => [...new Set(metadata.flatMap((t) => t.partitions.map((p) => p.partitionId)))].sort((a, b) => a - b);
  const now = options.now ?? Date.now;
  let refreshedAt = -Infinity;
  const refresh = async () => {
    const { topics } = await options.admin.fetchTopicMetadata({ topics: [...options.topics.reports, options.topics.watchlist] });
    partitions.reports = idsOf(topics.filter((t) => options.topics.reports.includes(t.name)));
    partitions.watchlist = idsOf(topics.filter((t) => t.name === options.topics.watchlist));
    refreshedAt = now();
  };
  /**
   * Which watchlist transaction each partition's committed offset names. Asked inside a report
   * transaction: a failure is retried here, then fails the batch as retriable (kafkajs gives up
   * with an error it marks final, which would stop the report consumer).
   */
  const watchlistCommitted = async () => {
    const committed = await retry(() => readCommitted(options.admin, options.watchlistGroupId, options.topics.watchlist), { retries: 3, isRetriable: () => true }).catch(
      (err: unknown) => {
        throw new ReeError('REE_ERR_KAFKA', `cannot read the watchlist group's committed offsets: ${errorMessage(err)}`, { cause: err, retriable: true });
      },
    );
    return (partition: number, txn: string) => committed.get(partition)?.txn === txn;
  };
  const refreshInBackground = () => {
    refreshedAt = now();
    refresh().catch((err: unknown) => options.onRefreshError?.(err));
  };
  return {
    async heldByOtherPath(asking) {
      if (now() - refreshedAt > REFRESH_AFTER_MS) refreshInBackground();
      if (asking === 'watchlist') return heldRevisions(options.journals.reports, partitions.reports);
      return heldRevisions(options.journals.watchlist, partitions.watchlist, watchlistCommitted);
    },
    refresh,
    refreshInBackground,
  };
}
