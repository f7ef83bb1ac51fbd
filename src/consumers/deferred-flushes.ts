/**
 * Per partition index, the pass that commits the offsets its passes deferred (REE_COMMIT_INTERVAL_MS,
 * output-transactions.ts `deferred`) if no transaction of the index has by the time the interval
 * has run. Scheduled after every pass (a no-op while one is scheduled or nothing is deferred);
 * rescheduled after each flush while something is still deferred (a failed one included).
 *
 * `cancel` drops every scheduled flush, and any already running is not followed by another: at a
 * join or rebalance the deferred positions are dropped too, and a commit of the old assignment's
 * positions landing after the consumer had read the group's offsets would put this instance's
 * view of them ahead of what it reads. `stop` cancels for good.
 */
export interface DeferredFlushes {
  schedule(partition: number): void;
  cancel(): void;
  stop(): void;
}

export function createDeferredFlushes(options: {
  /** 0: nothing is ever deferred, nothing scheduled. */
  intervalMs: number;
  deferred: (partition: number) => boolean;
  flush: (partition: number) => Promise<unknown>;
  onError: (err: unknown, partition: number) => void;
}): DeferredFlushes {
  const timers = new Map<number, NodeJS.Timeout>();
  let stopped = false;
  /** Moved by every cancel: what was scheduled or running before it does not go on. */
  let generation = 0;
  const cancel = () => {
    generation += 1;
    for (const timer of timers.values()) clearTimeout(timer);
    timers.clear();
  };
  const schedule = (partition: number): void => {
    if (stopped || options.intervalMs === 0 || timers.has(partition) || !options.deferred(partition)) return;
    const scheduledIn = generation;
    const timer = setTimeout(() => {
      timers.delete(partition);
      if (scheduledIn !== generation) return;
      options
        .flush(partition)
        .catch((err: unknown) => options.onError(err, partition))
        .finally(() => {
          if (scheduledIn === generation) schedule(partition);
        });
    }, options.intervalMs);
    timer.unref();
    timers.set(partition, timer);
  };
  return {
    schedule,
    cancel,
    stop() {
      stopped = true;
      cancel();
    },
  };
}
