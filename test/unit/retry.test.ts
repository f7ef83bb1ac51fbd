import { KafkaJSError, KafkaJSNonRetriableError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { ReeError } from '../../src/errors.ts';
import { retry } from '../../src/ops/retry.ts';

/** How many times `retry` calls a step that always fails with `err` (at most 4). */
async function attemptsFor(err: unknown): Promise<number> {
  let attempts = 0;
  await expect(
    retry(
      async () => {
        attempts += 1;
        throw err;
      },
      { retries: 3, sleep: async () => undefined },
    ),
  ).rejects.toBe(err);
  return attempts;
}

const connectionRefused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8081'), { code: 'ECONNREFUSED' });

describe('retry', () => {
  it.each([
    ['a retriable ReeError', 4, new ReeError('REE_ERR_STATE', 'Redis went away', { retriable: true })],
    ['a non-retriable ReeError', 1, new ReeError('REE_ERR_CONFIG', 'bad setting')],
    ['a retriable kafkajs error', 4, new KafkaJSError('not the leader', { retriable: true })],
    ['a non-retriable kafkajs error', 1, new KafkaJSNonRetriableError('topic authorization failed')],
    ['a TypeError (a bug)', 1, new TypeError("Cannot read properties of undefined (reading 'quantityKg')")],
    ['a RangeError (a bug)', 1, new RangeError('Invalid time value')],
    ['a TypeError that wraps a network failure', 4, new TypeError('fetch failed', { cause: connectionRefused })],
    ['a network error', 4, connectionRefused],
  ])('%s is tried %i time(s)', async (_what, expected, err) => {
    expect(await attemptsFor(err)).toBe(expected);
  });

  it('returns the first success', async () => {
    let attempts = 0;
    const value = await retry(
      async () => {
        attempts += 1;
        if (attempts < 3) throw connectionRefused;
        return 'done';
      },
      { sleep: async () => undefined },
    );
    expect([value, attempts]).toEqual(['done', 3]);
  });
});
