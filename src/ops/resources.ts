/**
 * What a long-running command has opened, so that whatever happens (a failed start-up, a signal, a
 * consumer that stopped for good) it is all closed, newest first, and nothing left open keeps the
 * process alive after it should have exited.
 */
import { ReeError, errorMessage } from '../errors.ts';

export interface Resources {
  /** Remembers how to close something just opened. */
  opened(name: string, close: () => Promise<unknown> | unknown): void;
  /**
   * Closes everything, newest first. A close that fails or hangs past `timeoutMs` is reported and
   * skipped: the others still get closed. Safe to call more than once.
   */
  closeAll(timeoutMs?: number): Promise<{ name: string; error: string }[]>;
}

export function createResources(): Resources {
  const stack: { name: string; close: () => Promise<unknown> | unknown }[] = [];
  return {
    opened(name, close) {
      stack.push({ name, close });
    },
    async closeAll(timeoutMs = 10_000) {
      const failures: { name: string; error: string }[] = [];
      for (let entry = stack.pop(); entry; entry = stack.pop()) {
        const { name, close } = entry;
        try {
          await withDeadline(Promise.resolve().then(close), timeoutMs, () => new Error(`did not close within ${timeoutMs} ms`));
        } catch (err) {
          failures.push({ name, error: errorMessage(err) });
        }
      }
      return failures;
    },
  };
}

/**
 * The promise's outcome, or the error `onTimeout` makes once `ms` have passed. The work itself is
 * not cancelled: the caller closes whatever it was using.
 */
export async function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * A start-up step that needs a service: its failure (or silence past `ms`) becomes one line naming
 * the service, where it was looked for and the setting that says so.
 */
export async function reach<T>(service: { what: string; where: string; setting: string }, ms: number, work: () => Promise<T>): Promise<T> {
  const problem = (reason: string) =>
    new ReeError('REE_ERR_UNAVAILABLE', `cannot reach ${service.what} at ${service.where}: ${reason}; check ${service.setting}`);
  try {
    return await withDeadline(work(), ms, () => problem(`no answer within ${ms / 1000} s`));
  } catch (err) {
    // A refusal that retrying cannot fix (an incompatible schema, a bad setting) says so itself.
    if (err instanceof ReeError && !err.retriable) throw err;
    throw problem(errorMessage(err));
  }
}
