/**
 * Timer passes for partition indexes that get no batch. With batches running at once
 * (REE_CONCURRENCY > 1) a batch fires only its own partition's timers; at 1 it fires every owned
 * partition's, but an instance may own an index whose reports have all been read (another
 * instance's batches move the shared watermark). Either way a partition with no more reports (the
 * end of a backlog, a quiet group of producers) would hold its due custody-gap, reporting-gap and
 * settle timers until a report came. After every batch, and on a slow tick (another instance may
 * have moved the watermark), each owned partition with something due gets a pass of its own
 * (handle-batch.ts fireIdlePartition).
 *
 * One round at a time: a kick during a round asks for one more round after it, never more.
 */
import type { Logger } from '../ops/logger.ts';
import { ReeError } from '../errors.ts';

export interface IdleTimerPasses {
  /**
   * Asks for a round over the owned partitions (after a batch: the watermark may have moved). A
   * batch passes the watermark it has just read back from the shared one, so the round need not
   * read it again; without one (the slow tick) the round reads it.
   */
  kick(watermark?: number): void;
  /**
   * A round that reads the watermark now, and resolves once it (and any round in progress) has
   * run. Before a clean stop: another instance's last batch may have moved the shared watermark
   * since this one looked, and nothing else would fire what that made due before the group is left.
   */
  flush(): Promise<void>;
  /** No more kicks or ticks; resolves once the rounds already asked for have run. */
  stop(): Promise<void>;
}

export interface IdleTimerOptions {
  /** The partition indexes owned now. */
  owned: () => readonly number[];
  /** Awaited before each round: the assignment's fencing and committed-offset read. */
  ready: () => Promise<void>;
  /**
   * Which of these partitions have a timer or an unsent outbox due at the (refreshed) watermark;
   * it may answer none when the watermark has not moved since it last looked, unless `again` (the
   * last round left a pass failed). `known`: the watermark the kicks since the last round brought
   * (the highest), when every one of them brought one; otherwise undefined, and it is read.
   */
  due: (partitions: readonly number[], again: boolean, known: number | undefined) => Promise<number[]>;
  /** One partition's pass in a transaction of its own. */
  fire: (partition: number) => Promise<unknown>;
  logger?: Logger | undefined;
  /** The slow tick, ms (default 2 s); 0: kicks only. */
  tickMs?: number;
}

export function createIdleTimerPasses(options: IdleTimerOptions): IdleTimerPasses {
  let stopped = false;
  let again = false;
  let round: Promise<void> | undefined;
  /** A pass failed: the next round looks again even if nothing has moved. */
  let failed = false;
  /** What the kicks since the last round knew of the watermark: null once one of them knew nothing. */
  let known: number | null | undefined;

  const once = async () => {
    await options.ready();
    const owned = options.owned();
    if (owned.length === 0) return;
    const retrying = failed;
    failed = false;
    // What this round looks at comes after every kick so far: they are answered by this look.
    again = false;
    const watermark = known ?? undefined;
    known = undefined;
    for (const partition of await options.due(owned, retrying, watermark)) {
      try {
        await options.fire(partition);
      } catch (err) {
        // Not ours any more: its new owner fires it. Anything else: the next round tries again.
        if (err instanceof ReeError && err.code === 'REE_ERR_FENCED') {
          options.logger?.debug({ partition, err: err.message }, 'idle timer pass fenced off');
        } else {
          failed = true;
          options.logger?.warn({ err, partition }, 'idle partition timer pass failed; the next round retries it');
        }
      }
    }
  };
  const run = async () => {
    do {
      again = false;
      await once().catch((err: unknown) => {
        failed = true;
        options.logger?.warn({ err }, 'idle timer round failed; the next round retries it');
      });
    } while (again);
    round = undefined;
  };
  const kick = (watermark?: number) => {
    if (stopped) return;
    known = watermark === undefined || known === null ? null : Math.max(watermark, known ?? -Infinity);
    if (round) again = true;
    else round = run();
  };
  const tickMs = options.tickMs ?? 2_000;
  const tick = tickMs > 0 ? setInterval(() => kick(), tickMs) : undefined;
  tick?.unref();

  return {
    kick,
    async flush() {
      kick();
      await round;
    },
    async stop() {
      stopped = true;
      clearInterval(tick);
      await round;
    },
  };
}
