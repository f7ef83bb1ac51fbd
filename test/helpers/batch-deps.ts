/** handle-batch.ts's dependencies for a unit test of a transactional pass: its alerts go only through `transactional`'s sinks. */
import { expect } from 'vitest';
import type { BatchDeps } from '../../src/consumers/handle-batch.ts';
import type { Alert } from '../../src/domain/events.ts';
import { createLogger } from '../../src/ops/logger.ts';
import type { Pipeline } from '../../src/pipeline/pipeline.ts';

/** `sent` collects what the transaction's alert sink is given; `extra` adds or overrides (sequential, deferCommits, ...). */
export function transactionalBatchDeps(
  pipeline: Pipeline,
  transactional: Omit<NonNullable<BatchDeps['transactional']>, 'sinks'>,
  sent: Alert[],
  extra: Partial<BatchDeps> = {},
): BatchDeps {
  return {
    decoder: undefined as never,
    pipeline,
    alerts: { publish: async () => expect.fail('a transactional batch publishes through its transaction') },
    deadLetters: { send: async () => undefined },
    logger: createLogger('silent'),
    transactional: {
      ...transactional,
      sinks: () => ({ alerts: { publish: async (alerts) => void sent.push(...alerts) }, deadLetters: { send: async () => undefined } }),
    },
    ...extra,
  };
}
