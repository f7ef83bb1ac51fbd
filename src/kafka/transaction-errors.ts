/**
 * How kafkajs reports the two transaction failures a transactional writer handles itself: a newer
 * producer with the same transactional id (this one is fenced for good), and a coordinator still
 * writing the previous transaction's markers (worth a short wait, not a redo).
 */

/** kafkajs's error types when a newer producer with the same transactional id has been initialised. */
const FENCED_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED']);

export const isFencedError = (err: unknown): boolean => {
  for (let e: unknown = err; e instanceof Error; e = e.cause) if (FENCED_TYPES.has((e as { type?: string }).type ?? '')) return true;
  return false;
};

export const isConcurrentTransactions = (err: unknown): boolean => (err as { type?: string } | null)?.type === 'CONCURRENT_TRANSACTIONS';

/** Errors a transaction attempt threw knowing that it did not commit (transactionNotCommitted). */
const notCommitted = new WeakSet<object>();

/**
 * Marks an error a transaction attempt throws when it knows the transaction did not commit: it
 * failed before its commit was sent, or the commit's outcome was settled as aborted. Only then may
 * the caller let go at once of what the attempt held for a commit (journal holds, claims). A commit
 * whose outcome stayed unknown (it may have gone through) throws an unmarked error, and its holds
 * are left for the index's or partition's next owner to settle.
 */
export function transactionNotCommitted<E>(err: E): E {
  if (typeof err === 'object' && err !== null) notCommitted.add(err);
  return err;
}

export const isTransactionNotCommitted = (err: unknown): boolean => typeof err === 'object' && err !== null && notCommitted.has(err);
