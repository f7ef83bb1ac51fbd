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
