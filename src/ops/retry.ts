/**
 * The one retrier: exponential backoff with jitter for errors marked retriable. A non-retriable
 * error (bad input, bad config) is thrown at once; retrying it would only repeat the failure.
 */
import { ReeError } from '../errors.ts';

export interface RetryOptions {
  retries?: number;
  minDelayMs?: number;
  maxDelayMs?: number;
  isRetriable?: (err: unknown) => boolean;
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
  sleep?: (ms: number) => Promise<void>;
}

/** Errors of the language itself: a bug in the code, which fails the same way every time. */
const PROGRAMMING_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** A system error from the network or the file system (ECONNRESET, EPIPE...), possibly as the cause. */
const isSystemError = (err: unknown): boolean =>
  err instanceof Error && (typeof (err as NodeJS.ErrnoException).code === 'string' || isSystemError(err.cause));

/**
 * Errors that say whether they are retriable (ours, kafkajs's) are taken at their word. A bug (a
 * TypeError...) is not retried, unless it only wraps a network failure (fetch's "fetch failed").
 * Anything else, a driver's own error, is presumed transient.
 */
export function defaultIsRetriable(err: unknown): boolean {
  if (err instanceof ReeError) return err.retriable;
  const flag = typeof err === 'object' && err !== null ? (err as { retriable?: unknown }).retriable : undefined;
  if (typeof flag === 'boolean') return flag;
  if (PROGRAMMING_ERRORS.some((kind) => err instanceof kind)) return isSystemError((err as Error).cause);
  return true;
}

export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const retries = options.retries ?? 5;
  const min = options.minDelayMs ?? 100;
  const max = options.maxDelayMs ?? 10_000;
  const isRetriable = options.isRetriable ?? defaultIsRetriable;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt += 1) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (attempt >= retries || !isRetriable(err)) throw err;
      const delay = Math.min(max, min * 2 ** attempt) * (0.5 + Math.random() / 2);
      options.onRetry?.(err, attempt + 1, delay);
      await sleep(delay);
    }
  }
}
