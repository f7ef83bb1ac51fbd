/**
 * One process has two paths to the same finding: a report batch (a client's shipment meets a listed
 * party) and a watchlist change (the party, once listed, meets the client's earlier shipment). Each
 * asks "published yet?", publishes, then marks, so two of them interleaved publish the alert twice.
 * Report batches hold the gate together (they may run side by side, as REE_CONCURRENCY allows);
 * a watchlist change holds it alone, so no report batch is between its check and its mark.
 */
import { Semaphore } from 'async-mutex';

export interface PublishGate {
  /** For report batches: many at once, none while a watchlist change holds the gate. */
  shared<T>(work: () => Promise<T>): Promise<T>;
  /** For watchlist changes: waits for the report batches in flight, and holds the next ones back. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

/** More than any concurrency setting allows, so shared holders never wait for one another. */
const WIDTH = 1 << 16;

export function createPublishGate(): PublishGate {
  // The semaphore serves waiters in order, so a waiting watchlist change is not starved by a stream
  // of report batches: the batches that come after it wait behind it.
  const permits = new Semaphore(WIDTH);
  return {
    shared: (work) => permits.runExclusive(work, 1),
    exclusive: (work) => permits.runExclusive(work, WIDTH),
  };
}
