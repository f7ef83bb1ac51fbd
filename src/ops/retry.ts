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

/** Our own errors say whether they are retriable; anything else (network, driver) is presumed so. */
export const defaultIsRetriable = (err: unknown): boolean => (err instanceof ReeError ? err.retriable : true);

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
