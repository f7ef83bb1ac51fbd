/**
 * Gathers the batches one fetch brings for a partition index, so they go in one transaction.
 *
 * kafkajs hands `eachBatch` one topic-partition at a time, and a fetch brings a batch for each
 * report topic of an index (co-partitioned: the same producers). With its workers at least as many
 * as the topic-partitions, every batch of a fetch enters `eachBatch` before any of them awaits
 * anything, and the next fetch waits for all of them. A batch enters (synchronously, first thing),
 * then either submits what it takes or leaves (held by the aligner, nothing to take); once every
 * batch of the index that entered has done one or the other, what was submitted runs as one group.
 * A batch that entered later (a fetch that came while a group of its index ran) joins the next
 * group: groups are an economy, not a guarantee, and `run` must be right for any grouping.
 *
 * What each batch takes is decided in turn (`decide`): the event-time aligner's limit for a batch
 * depends on what its siblings took, and deciding them all at once would show each its siblings'
 * positions of the previous fetch, holding more batches whole in a backlog.
 */

export interface GatherTicket<T, R> {
  /** Hands this batch's part to the index's next group; resolves (or rejects) with that group's outcome. */
  submit(item: T): Promise<R>;
  /** This batch takes nothing (held, failed before submitting); a no-op after submit. */
  leave(): void;
  /**
   * Runs `decision` once the decisions of this index's batches that asked before have settled
   * (their groups need not have run), so each decides knowing what the ones before it took.
   */
  decide<V>(decision: () => Promise<V>): Promise<V>;
}

export interface IndexGather<T, R> {
  enter(partition: number): GatherTicket<T, R>;
}

interface Waiting<T, R> {
  item: T;
  resolve: (outcome: R) => void;
  reject: (err: unknown) => void;
}

export function createIndexGather<T, R>(run: (partition: number, items: T[]) => Promise<R>): IndexGather<T, R> {
  const open = new Map<number, { entered: number; waiting: Waiting<T, R>[] }>();
  /** The last decision asked for, per index: the next one starts when it has settled. */
  const decisions = new Map<number, Promise<unknown>>();

  const settle = (partition: number, group: { entered: number; waiting: Waiting<T, R>[] }) => {
    group.entered -= 1;
    if (group.entered > 0) return;
    if (open.get(partition) === group) open.delete(partition);
    const { waiting } = group;
    if (waiting.length === 0) return;
    (async () => run(partition, waiting.map((w) => w.item)))().then(
      (outcome) => waiting.forEach((w) => w.resolve(outcome)),
      (err: unknown) => waiting.forEach((w) => w.reject(err)),
    );
  };

  return {
    enter(partition) {
      let group = open.get(partition);
      if (!group) open.set(partition, (group = { entered: 0, waiting: [] }));
      group.entered += 1;
      const joined = group;
      let done = false;
      return {
        submit(item) {
          if (done) throw new Error('a gather ticket is used once');
          done = true;
          const outcome = new Promise<R>((resolve, reject) => joined.waiting.push({ item, resolve, reject }));
          settle(partition, joined);
          return outcome;
        },
        leave() {
          if (done) return;
          done = true;
          settle(partition, joined);
        },
        decide(decision) {
          const turn = (decisions.get(partition) ?? Promise.resolve()).then(decision);
          const settled = turn.catch(() => undefined);
          decisions.set(partition, settled);
          void settled.then(() => {
            if (decisions.get(partition) === settled) decisions.delete(partition);
          });
          return turn;
        },
      };
    },
  };
}
