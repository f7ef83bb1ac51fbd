/**
 * A kafkajs partition assigner that gives one member every topic's partition of the same index.
 *
 * The report topics are all keyed by producer with the same partition count, so partition p of
 * production, shipments, receipts and inventory carries the same producers. The event-time
 * aligner keeps those four in step, which it can only do in a process that reads all four; the
 * default round-robin assigner spreads them over members, and a member would then wait for
 * siblings it never sees.
 */
import { AssignerProtocol, type PartitionAssigner } from 'kafkajs';

export const CO_PARTITION_ASSIGNER_NAME = 'ReeCoPartitionAssigner';

/** member id → topic → partitions. Every member appears, with nothing when there is too little to share. */
export type GroupAssignment = Map<string, Record<string, number[]>>;

/**
 * Partition index p of every topic goes to the (p mod n)-th member in id order. Topics with fewer
 * partitions simply have no p for the higher indexes; the mapping of the rest does not change.
 */
export function coPartitionAssignment(memberIds: readonly string[], partitionsByTopic: ReadonlyMap<string, readonly number[]>): GroupAssignment {
  const members = [...new Set(memberIds)].sort();
  const assignment: GroupAssignment = new Map(members.map((id) => [id, {}]));
  if (members.length === 0) return assignment;
  for (const [topic, partitions] of partitionsByTopic) {
    for (const partition of [...partitions].sort((a, b) => a - b)) {
      const owner = assignment.get(members[partition % members.length]!)!;
      (owner[topic] ??= []).push(partition);
    }
  }
  return assignment;
}

export const CoPartitionAssigner: PartitionAssigner = ({ cluster }) => ({
  name: CO_PARTITION_ASSIGNER_NAME,
  version: 0,
  async assign({ members, topics }) {
    const partitionsByTopic = new Map(topics.map((topic) => [topic, cluster.findTopicPartitionMetadata(topic).map((m) => m.partitionId)]));
    const assignment = coPartitionAssignment(
      members.map((m) => m.memberId),
      partitionsByTopic,
    );
    return [...assignment].map(([memberId, topicPartitions]) => ({
      memberId,
      memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 0, assignment: topicPartitions, userData: Buffer.alloc(0) }),
    }));
  },
  protocol({ topics }) {
    return {
      name: CO_PARTITION_ASSIGNER_NAME,
      metadata: AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) }),
    };
  },
});
