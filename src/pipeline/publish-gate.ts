/**
 * One process has two paths to the same finding: a report batch (a client's shipment meets a listed
 * party) and a watchlist change (the party, once listed, meets the client's earlier shipment). Each
 * asks "published yet?", publishes, then marks, so two of them interleaved publish the alert twice.
 * Report batches hold the gate together (they may run side by side, as REE_CONCURRENCY allows);
 * a watchlist change holds it alone, so no report batch is between its check and its mark.
 *
 * A readers-writer gate of its own: async-mutex's Semaphore, wide enough for every batch, walked
 * all its width (65,536 steps) on every release, a fixed cost of every report transaction.
 */

export interface PublishGate {
  /** For report batches: many at once, none while a watchlist change holds the gate. */
  shared<T>(work: () => Promise<T>): Promise<T>;
  /** For watchlist changes: waits for the report batches in flight, and holds the next ones back. */
  exclusive<T>(work: () => Promise<T>): Promise<T>;
}

export function createPublishGate(): PublishGate {
  let sharedHolders = 0;
  let exclusiveHeld = false;
  // Served in order, so a waiting watchlist change is not starved by a stream of report batches:
  // the batches that come after it wait behind it.
  const waiting: { exclusive: boolean; enter: () => void }[] = [];
  const admit = () => {
    while (waiting.length > 0) {
      const next = waiting[0]!;
      if (exclusiveHeld || (next.exclusive && sharedHolders > 0)) return;
      if (next.exclusive) exclusiveHeld = true;
      else sharedHolders += 1;
      waiting.shift();
      next.enter();
    }
  };
  const hold = async <T>(exclusive: boolean, work: () => Promise<T>): Promise<T> => {
    await new Promise<void>((enter) => {
      waiting.push({ exclusive, enter });
      admit();
    });
    try {
      return await work();
    } finally {
      if (exclusive) exclusiveHeld = false;
      else sharedHolders -= 1;
      admit();
    }
  };
  return {
    shared: (work) => hold(false, work),
    exclusive: (work) => hold(true, work),
  };
}
