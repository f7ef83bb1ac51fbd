/**
 * The quota consumer over a fake Kafka and the memory register: each quota ends as its last record
 * in the batch says, bad records go to the dead-letter topic with the reason, and the offset moves on.
 */
import { describe, expect, it, vi } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { REFERENCE_FETCH_WAIT_MS } from '../../src/consumers/compacted-topic-consumer.ts';
import { createQuotaConsumer } from '../../src/consumers/quota-consumer.ts';
import type { ProductionQuota } from '../../src/domain/events.ts';
import type { DeadLetter } from '../../src/producers/dead-letter-sink.ts';
import { createMemoryQuotaRegister } from '../../src/state/quota-register.ts';
import { fakeKafka } from '../helpers/fake-kafka.ts';
import { quota } from '../helpers/quota-register-contract.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';

async function started() {
  const fake = fakeKafka();
  const consumerConfig = vi.spyOn(fake.kafka, 'consumer');
  const register = createMemoryQuotaRegister();
  const dead: DeadLetter[] = [];
  const { logger, lines } = capturingLogger();
  const consumer = createQuotaConsumer({
    kafka: fake.kafka,
    admin: fake.admin,
    groupId: 'g',
    topic: 'quotas',
    decoder: createDecoder(),
    quotas: register,
    deadLetters: { send: async (letters) => void dead.push(...letters) },
    logger,
  });
  await consumer.start();
  return { fake, register, dead, lines, consumerConfig };
}

const json = (q: ProductionQuota) => ({ key: q.quotaId, value: JSON.stringify(q) });

describe('quota consumer', () => {
  it('leaves each quota as its last record in the batch says and dead-letters bad records with the reason', async () => {
    const { fake, register, dead } = await started();
    const { resolved } = await fake.deliver('quotas', 0, [
      json(quota({ quotaId: 'Q-A', quotaKg: 100 })),
      json(quota({ quotaId: 'Q-B' })),
      json(quota({ quotaId: 'Q-A', quotaKg: 200 })),
      { key: 'Q-B', value: null },
      json(quota({ quotaId: 'Q-C', producerId: 'P2' })),
      { key: 'Q-A', value: JSON.stringify(quota({ quotaId: 'Q-X' })) }, // key and id disagree
      { key: 'Q-D', value: JSON.stringify({ ...quota({ quotaId: 'Q-D' }), quotaKg: -5 }) },
      { key: null, value: null },
      { key: 'Q-E', value: 'not json' },
    ]);
    const held = await register.quotasOf(['P1', 'P2']);
    expect(held.get('P1')!.map((q) => [q.quotaId, q.quotaKg])).toEqual([['Q-A', 200]]);
    expect(held.get('P2')!.map((q) => q.quotaId)).toEqual(['Q-C']);
    expect(dead.map((d) => [d.offset, d.error.code])).toEqual([
      ['5', 'REE_ERR_VALIDATION'],
      ['6', 'REE_ERR_VALIDATION'],
      ['7', 'REE_ERR_VALIDATION'],
      ['8', 'REE_ERR_DECODE'],
    ]);
    expect(dead[0]!.error.message).toMatch(/not the quotaId/);
    expect(dead[2]!.error.message).toMatch(/tombstone needs the quotaId/);
    expect(resolved).toEqual(['8']);
  });

  it('logs a batch\'s dead letters in one warning with the first one\'s reason', async () => {
    const { fake, lines } = await started();
    await fake.deliver('quotas', 3, [json(quota({ quotaId: 'Q-A' })), { key: 'Q-E', value: 'not json' }, { key: 'Q-F', value: '{}' }]);
    await fake.deliver('quotas', 3, [json(quota({ quotaId: 'Q-B' }))], { firstOffset: 3 });
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.msg === 'records sent to the dead-letter topic');
    expect(logged).toEqual([expect.objectContaining({ level: 40, topic: 'quotas', partition: 3, count: 2, firstOffset: '1', firstCode: 'REE_ERR_DECODE' })]);
    expect(logged[0]!.firstReason).toEqual(expect.any(String));
  });

  it('waits at most REFERENCE_FETCH_WAIT_MS on a fetch, so a stop does not sit out kafkajs\'s 5 s', async () => {
    const { consumerConfig } = await started();
    expect(consumerConfig).toHaveBeenCalledWith(expect.objectContaining({ groupId: 'g', maxWaitTimeInMs: REFERENCE_FETCH_WAIT_MS }));
    expect(REFERENCE_FETCH_WAIT_MS).toBeLessThanOrEqual(1_000);
  });

  it('withdraws a quota stored by an earlier batch on its tombstone', async () => {
    const { fake, register } = await started();
    await fake.deliver('quotas', 0, [json(quota({ quotaId: 'Q-A' })), json(quota({ quotaId: 'Q-B' }))]);
    await fake.deliver('quotas', 0, [{ key: 'Q-A', value: null }], { firstOffset: 2 });
    expect((await register.quotasOf(['P1'])).get('P1')!.map((q) => q.quotaId)).toEqual(['Q-B']);
  });
});
