import { describe, expect, it } from 'vitest';
import { createDecoder } from '../../src/codec/decode.ts';
import { createLicenceConsumer } from '../../src/consumers/licence-consumer.ts';
import type { Licence } from '../../src/domain/events.ts';
import type { DeadLetter } from '../../src/producers/dead-letter-sink.ts';
import { createMemoryReference } from '../../src/state/memory-reference.ts';
import type { StateStore } from '../../src/state/store.ts';
import { licence } from '../helpers/builders.ts';
import { fakeKafka } from '../helpers/fake-kafka.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';

/** A store whose licence writes take a while, counting how many are in flight at once. */
function slowStore(inner: StateStore) {
  const calls: string[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const slow = async (label: string, write: () => Promise<void>) => {
    calls.push(label);
    inFlight += 1;
    maxInFlight = Math.max(maxInFlight, inFlight);
    await new Promise((r) => setTimeout(r, 5));
    await write();
    inFlight -= 1;
  };
  const store: StateStore = {
    ...inner,
    putLicence: (l: Licence) => slow(`put ${l.licenceId}`, () => inner.putLicence(l)),
    deleteLicence: (id: string) => slow(`delete ${id}`, () => inner.deleteLicence(id)),
  };
  return { store, calls, maxInFlight: () => maxInFlight };
}

async function started() {
  const fake = fakeKafka();
  const memory = createMemoryReference();
  const slow = slowStore(memory);
  const dead: DeadLetter[] = [];
  const { logger, lines } = capturingLogger();
  const consumer = createLicenceConsumer({
    kafka: fake.kafka,
    admin: fake.admin,
    groupId: 'g',
    topic: 'licences',
    decoder: createDecoder(),
    store: slow.store,
    deadLetters: { send: async (letters) => void dead.push(...letters) },
    logger,
  });
  await consumer.start();
  return { fake, memory, slow, dead, lines };
}

const json = (l: Licence) => ({ key: l.licenceId, value: JSON.stringify(l) });

describe('licence consumer batches', () => {
  it('writes the licences of a batch concurrently rather than one round trip each', async () => {
    const { fake, memory, slow } = await started();
    const licences = Array.from({ length: 50 }, (_, i) => licence({ licenceId: `LIC-${i}` }));
    await fake.deliver('licences', 0, licences.map(json));
    expect(slow.maxInFlight()).toBe(50);
    expect((await memory.getLicenceVersions(licences.map((l) => l.licenceId))).size).toBe(50);
  });

  it('leaves each licence as its records in the batch say, writing each version once', async () => {
    const { fake, memory, slow, dead } = await started();
    const first = licence({ licenceId: 'LIC-A', quotaKg: 100 });
    const second = licence({ licenceId: 'LIC-A', quotaKg: 200 });
    const deleted = licence({ licenceId: 'LIC-B' });
    const revived = licence({ licenceId: 'LIC-C', quotaKg: 7 });
    const { resolved } = await fake.deliver('licences', 0, [
      json(first),
      json(deleted),
      json(revived),
      { key: 'LIC-C', value: null },
      json(second),
      { key: 'LIC-B', value: null },
      json(revived),
      { key: 'LIC-A', value: JSON.stringify(licence({ licenceId: 'LIC-X' })) }, // key and id disagree
      { key: 'LIC-A', value: 'not json' },
    ]);
    // LIC-A's second record is the same version (same effective time) corrected: one write. LIC-C's
    // tombstone must still wipe what earlier batches stored before its revival is kept.
    expect(slow.calls.sort()).toEqual(['delete LIC-B', 'delete LIC-C', 'put LIC-A', 'put LIC-C']);
    const stored = await memory.getLicenceVersions(['LIC-A', 'LIC-B', 'LIC-C', 'LIC-X']);
    expect(stored.get('LIC-A')?.map((l) => l.quotaKg)).toEqual([200]);
    expect(stored.has('LIC-B')).toBe(false);
    expect(stored.get('LIC-C')?.map((l) => l.quotaKg)).toEqual([7]);
    expect(stored.has('LIC-X')).toBe(false);
    expect(dead.map((d) => [d.offset, d.error.code])).toEqual([
      ['7', 'REE_ERR_VALIDATION'],
      ['8', 'REE_ERR_DECODE'],
    ]);
    expect(resolved).toEqual(['8']);
  });

  it("logs a batch's dead letters in one warning with the first one's reason, and nothing for a clean batch", async () => {
    const { fake, lines } = await started();
    await fake.deliver('licences', 2, [json(licence({ licenceId: 'LIC-1' }))]);
    await fake.deliver('licences', 2, [{ key: 'LIC-2', value: JSON.stringify(licence({ licenceId: 'LIC-3' })) }, { key: 'LIC-4', value: 'not json' }], { firstOffset: 1 });
    await new Promise((resolve) => setImmediate(resolve));
    const logged = lines.filter((l) => l.msg === 'records sent to the dead-letter topic');
    expect(logged).toEqual([
      expect.objectContaining({ level: 40, topic: 'licences', partition: 2, count: 2, firstOffset: '1', firstCode: 'REE_ERR_VALIDATION', firstReason: 'record key "LIC-2" is not the licenceId "LIC-3"' }),
    ]);
  });

  it('keeps every version a batch brings, in effective order', async () => {
    const { fake, memory } = await started();
    const issued = licence({ licenceId: 'LIC-V' });
    const revoked = { ...issued, status: 'REVOKED' as const, effectiveAt: issued.issuedAt + 40 * 86_400_000 };
    const suspended = { ...issued, status: 'SUSPENDED' as const, effectiveAt: issued.issuedAt + 20 * 86_400_000 };
    await fake.deliver('licences', 0, [json(revoked), json(issued), json(suspended)]);
    expect((await memory.getLicenceVersions(['LIC-V'])).get('LIC-V')?.map((l) => l.status)).toEqual(['ACTIVE', 'SUSPENDED', 'REVOKED']);
  });
});
