/**
 * The store contract on a real three-master Redis Cluster, with a prefix that has no braces:
 * each producer's keys hash to their own slot, so a script or pipeline that strayed across slots
 * or nodes would fail here, not in production.
 */
import type { Cluster } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import keySlot from 'cluster-key-slot';
import { createEngineRedisStore } from '../../src/state/engine-store.ts';
import { createKeyBuilder } from '../../src/state/keys.ts';
import { createRedisCustodyLedger } from '../../src/state/redis-custody-ledger.ts';
import type { StateUpdate } from '../../src/state/store.ts';
import { describeCustodyLedgerContract } from '../helpers/custody-ledger-contract.ts';
import { useRedisCluster } from '../helpers/redis-cluster.ts';
import { deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis-state.ts';
import { describeStoreContract, sampleLicence } from '../helpers/store-contract.ts';

const clusterClient = useRedisCluster();
let cluster: Cluster;
beforeAll(() => {
  cluster = clusterClient();
});

// The state engine's load and save scripts touch one producer's slot each; the reference data one
// key's slot per command.
describeStoreContract('state engine on Redis Cluster', async () => {
  const prefix = uniquePrefix('cluster-engine');
  return {
    store: createEngineRedisStore({ redis: cluster.duplicate(), prefix, maxCachedProducers: 1 }),
    producer: (id) => id,
    successor: () => createEngineRedisStore({ redis: cluster.duplicate(), prefix, maxCachedProducers: 1 }),
    fences: true,
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
    for (const key of ['foo', 'bar', '123456789', keys.producer('P-1', 'state'), keys.licence('LIC-1'), keys.publishedAlert('a:b:c')]) {
      expect(keySlot(key)).toBe(await node.cluster('KEYSLOT', key));
    }
  });

  it('applies one batch spanning producers on every node in order', async () => {
    const prefix = uniquePrefix('spread');
    // One producer held at a time: every producer is loaded from and saved to its node.
    const store = createEngineRedisStore({ redis: cluster, prefix, maxCachedProducers: 1, keepConnectionOpen: true });
    const keys = createKeyBuilder(prefix);
    const producers = Array.from({ length: 24 }, (_, i) => `P${i}`);
    const nodesUsed = new Set(producers.map((p) => nodeOfSlot(keySlot(keys.producer(p, 'state')))));
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
      // Each producer's clock passes day 0's grace at step 2: 10 kg shipped, 4.5 kg made late.
      expect(actual.map((r) => r.checks.map((c) => `${c.kind}@${c.day} ${c.bookKg}`))).toEqual(batch.map((_, i) => (i < 2 * producers.length ? [] : ['deficit@20100 -5.5'])));
      expect(actual.map((r) => [r.licenceUsedBeforeKg, r.licenceUsedAfterKg])).toEqual(batch.map((_, i) => [Math.floor(i / producers.length), Math.floor(i / producers.length) + 1]));
      const again = await store.applyBatch(batch);
      expect(again).toStrictEqual(actual.map((r) => ({ ...r, duplicate: true })));
    } finally {
      await deleteKeysWithPrefix(cluster, prefix);
      await store.close();
    }
  });

  it('reads and marks licences and alerts spread over every node in one call each', async () => {
    const prefix = uniquePrefix('refdata');
    const store = createEngineRedisStore({ redis: cluster, prefix, keepConnectionOpen: true });
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

