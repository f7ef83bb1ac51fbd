/**
 * The StateStore contract on a real three-master Redis Cluster, with a prefix that has no braces:
 * each producer's keys hash to their own slot, so a script or pipeline that strayed across slots
 * or nodes would fail here, not in production.
 */
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import keySlot from 'cluster-key-slot';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { createKeyBuilder } from '../../src/state/keys.ts';
import { createMemoryStore } from '../../src/state/memory-store.ts';
import { createRedisCustodyLedger } from '../../src/state/redis-custody-ledger.ts';
import { createRedisStore } from '../../src/state/redis-store.ts';
import type { StateUpdate } from '../../src/state/store.ts';
import { describeCustodyLedgerContract } from '../helpers/custody-ledger-contract.ts';
import { startRedisCluster, type RedisClusterHandle } from '../helpers/redis-cluster.ts';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis-state.ts';
import { describeStoreContract, sampleLicence } from '../helpers/store-contract.ts';

let handle: RedisClusterHandle | undefined;
let cluster: Cluster;

beforeAll(async () => {
  handle = await startRedisCluster({ masters: 3, timeoutMs: 60_000 });
  cluster = new Cluster(handle.nodes, { redisOptions: { connectTimeout: 2_000 } });
  await new Promise<void>((resolve, reject) => {
    cluster.once('ready', resolve);
    cluster.once('error', reject);
  });
}, 90_000);

afterAll(async () => {
  await cluster?.quit().catch(() => cluster.disconnect());
  await handle?.stop();
});

describeStoreContract('Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster');
  return {
    store: createRedisStore({ redis: cluster.duplicate(), prefix }),
    producer: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(cluster, prefix);
    },
  };
});

// The state engine on the same cluster: its load and save scripts touch one producer's slot each.
describeStoreContract('state engine on Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster-engine');
  return {
    store: createEngineRedisStore({ redis: cluster.duplicate(), prefix, maxCachedProducers: 1 }),
    producer: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(cluster, prefix);
    },
  };
});

// Seller and buyer on two connections: every shipment's hash is its own slot, spread over the nodes.
describeCustodyLedgerContract('Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster-custody');
  return {
    ledger: createRedisCustodyLedger({ redis: cluster.duplicate(), prefix }),
    other: createRedisCustodyLedger({ redis: cluster.duplicate(), prefix }),
    shipmentId: (id) => id,
    cleanup: async () => {
      await deleteKeysWithPrefix(cluster, prefix);
    },
  };
});

const DAY = 86_400_000;
const nodeOfSlot = (slot: number) => cluster.slots[slot]?.[0];

describe('Redis Cluster specifics', () => {
  it('computes the same slots as the cluster', async () => {
    const node = cluster.nodes('master')[0]!;
    const keys = createKeyBuilder('ree');
    for (const key of ['foo', 'bar', '123456789', keys.producer('P-1', 'book'), keys.licence('LIC-1'), keys.publishedAlert('a:b:c')]) {
      expect(keySlot(key)).toBe(await node.cluster('KEYSLOT', key));
    }
  });

  it('applies one batch spanning producers on every node in order, with the in-memory results', async () => {
    const prefix = uniquePrefix('spread');
    const store = createRedisStore({ redis: cluster, prefix, keepConnectionOpen: true });
    const keys = createKeyBuilder(prefix);
    const producers = Array.from({ length: 24 }, (_, i) => `P${i}`);
    const nodesUsed = new Set(producers.map((p) => nodeOfSlot(keySlot(keys.producer(p, 'meta')))));
    expect(nodesUsed.size).toBe(3);
    // Interleaved: each producer ships on day 0, produces late, then its clock passes the grace period.
    const batch: StateUpdate[] = [];
    for (const step of [0, 1, 2]) {
      for (const p of producers) {
        const occurredAt = step === 2 ? 20_103 * DAY : 20_100 * DAY + step * 3_600_000;
        const flows = step === 0 ? [{ material: 'DY_OXIDE', kind: 'shipped' as const, kg: 10 }] : step === 1 ? [{ material: 'DY_OXIDE', kind: 'produced' as const, kg: 4.5 }] : [];
        batch.push({ reportId: `${p}-${step}`, producerId: p, occurredAt, flows, graceMs: DAY, licenceUse: { licenceId: 'L', kg: 1 } });
      }
    }
    try {
      const actual = await store.applyBatch(batch);
      expect(actual).toStrictEqual(await createMemoryStore().applyBatch(batch));
      expect(actual.filter((r) => r.checks.length === 1).map((r) => r.checks[0]!.bookKg)).toEqual(producers.map(() => -5.5));
      expect((await store.applyBatch(batch)).every((r) => r.duplicate)).toBe(true);
    } finally {
      await deleteKeysWithPrefix(cluster, prefix);
      await store.close();
    }
  });

  it('reads and marks licences and alerts spread over every node in one call each', async () => {
    const prefix = uniquePrefix('refdata');
    const store = createRedisStore({ redis: cluster, prefix, keepConnectionOpen: true });
    const keys = createKeyBuilder(prefix);
    const ids = Array.from({ length: 30 }, (_, i) => `ID-${i}`);
    expect(new Set(ids.map((id) => nodeOfSlot(keySlot(keys.licenceVersions(id))))).size).toBe(3);
    try {
      for (const id of ids.filter((_, i) => i % 2 === 0)) await store.putLicence(sampleLicence({ licenceId: id }));
      const found = await store.getLicenceVersions(ids);
      expect([...found.keys()]).toEqual(ids.filter((_, i) => i % 2 === 0));
      expect(found.get('ID-4')).toEqual([sampleLicence({ licenceId: 'ID-4' })]);

      await store.markAlertsPublished(ids.filter((_, i) => i % 3 === 0));
      expect(await store.unpublishedAlerts(ids)).toEqual(ids.filter((_, i) => i % 3 !== 0));
    } finally {
      await deleteKeysWithPrefix(cluster, prefix);
      await store.close();
    }
  });
});

