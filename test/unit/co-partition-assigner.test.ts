import { AssignerProtocol, type Cluster } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { CoPartitionAssigner, coPartitionAssignment } from '../../src/kafka/co-partition-assigner.ts';

const topics = ['production', 'shipments', 'receipts', 'inventory'];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const sixEach = new Map(topics.map((t) => [t, range(6)]));

/** Which member owns each partition index of each topic. */
function owners(assignment: Map<string, Record<string, number[]>>) {
  const owner = new Map<string, string>();
  for (const [member, byTopic] of assignment) {
    for (const [topic, partitions] of Object.entries(byTopic)) {
      for (const p of partitions) {
        expect(owner.has(`${topic}/${p}`), `${topic}/${p} assigned twice`).toBe(false);
        owner.set(`${topic}/${p}`, member);
      }
    }
  }
  return owner;
}

describe('coPartitionAssignment', () => {
  it.each([1, 2, 3, 7])('gives one member every topic of a partition index, %i member(s), 6 partitions', (n) => {
    const members = range(n).map((i) => `member-${String.fromCharCode(122 - i)}`); // listed in reverse id order
    const assignment = coPartitionAssignment(members, sixEach);
    const sorted = [...members].sort();
    expect([...assignment.keys()]).toEqual(sorted);
    const owner = owners(assignment);
    expect(owner.size).toBe(4 * 6);
    for (const p of range(6)) {
      for (const t of topics) expect(owner.get(`${t}/${p}`)).toBe(sorted[p % n]);
    }
    const counts = [...assignment.values()].map((byTopic) => Object.values(byTopic).flat().length);
    expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(4);
  });

  it('leaves a member with nothing when there are more members than partition indexes', () => {
    const assignment = coPartitionAssignment(range(7).map((i) => `m${i}`), sixEach);
    expect(assignment.get('m6')).toEqual({});
  });

  it('keeps indexes together when the topics have unequal partition counts', () => {
    const unequal = new Map([
      ['production', range(6)],
      ['shipments', range(4)],
      ['receipts', range(8)],
      ['inventory', [5, 1, 3]],
    ]);
    const assignment = coPartitionAssignment(['b', 'a', 'c'], unequal);
    const owner = owners(assignment);
    expect(owner.size).toBe(6 + 4 + 8 + 3);
    for (const [key, member] of owner) expect(member).toBe(['a', 'b', 'c'][Number(key.split('/')[1]) % 3]);
    expect(assignment.get('c')).toEqual({ production: [2, 5], shipments: [2], receipts: [2, 5], inventory: [5] });
  });

  it('assigns nothing without members', () => {
    expect(coPartitionAssignment([], sixEach).size).toBe(0);
  });
});

describe('CoPartitionAssigner', () => {
  it('encodes the assignment for every member in the kafkajs protocol', async () => {
    const cluster = { findTopicPartitionMetadata: (topic: string) => range(topic === 'shipments' ? 2 : 3).map((partitionId) => ({ partitionId })) } as unknown as Cluster;
    const assigner = CoPartitionAssigner({ cluster, groupId: 'g', logger: undefined as never });
    const memberMetadata = assigner.protocol({ topics: ['production', 'shipments'] }).metadata;
    expect(AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics).toEqual(['production', 'shipments']);
    const result = await assigner.assign({ members: [{ memberId: 'y', memberMetadata }, { memberId: 'x', memberMetadata }], topics: ['production', 'shipments'] });
    const decoded = Object.fromEntries(result.map((r) => [r.memberId, AssignerProtocol.MemberAssignment.decode(r.memberAssignment)?.assignment]));
    expect(decoded).toEqual({ x: { production: [0, 2], shipments: [0] }, y: { production: [1], shipments: [1] } });
  });
});
