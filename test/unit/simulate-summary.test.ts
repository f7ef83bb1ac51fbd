/** The simulate command's summary names the topics the records went to: the live prefix's with --to-kafka. */
import { describe, expect, it } from 'vitest';
import { countsByTopic } from '../../src/cli/simulate.ts';
import { topicNames } from '../../src/config/topics.ts';

describe('simulate summary', () => {
  const byTopic = { 'ree.shipments.v1': 550, 'ree.licences.v1': 12, 'ree.quotas.v1': 3 };

  it('with --to-kafka, counts under the topics of its prefix', () => {
    expect(countsByTopic(byTopic, topicNames('oprev1'))).toEqual([
      ['oprev1.shipments.v1', 550],
      ['oprev1.licences.v1', 12],
      ['oprev1.quotas.v1', 3],
    ]);
  });

  it('to a file only, counts under the recording’s own names', () => {
    expect(countsByTopic(byTopic)).toEqual(Object.entries(byTopic));
  });
});
