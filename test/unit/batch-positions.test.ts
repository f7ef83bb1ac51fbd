/**
 * Which positions a report pass commits and tags its outbox entries with (handle-batch.ts
 * inTransaction): only those past what this instance knows the group has committed. A view ahead
 * of the batch (an earlier owner's last commit landing after this consumer read the group's
 * offsets at the join) must neither move the group's offset back nor tag an alert with a position
 * already covered, which would count it as published before its transaction commits. Over a model
 * of the transactions that records what each is asked to commit, and a real pipeline in memory.
 */
import { describe, expect, it } from 'vitest';
import { loadRulesFile } from '../../src/config/rules-file.ts';
import { handleReportBatches, type TakenBatch } from '../../src/consumers/handle-batch.ts';
import type { Alert } from '../../src/domain/events.ts';
import { CommittedOffsets } from '../../src/pipeline/committed-offsets.ts';
import { createPipeline } from '../../src/pipeline/pipeline.ts';
import type { CommitPosition, OutputTransactions } from '../../src/producers/output-transactions.ts';
import { createEngineMemoryStore } from '../../src/state/engine-store.ts';
import { transactionalBatchDeps } from '../helpers/batch-deps.ts';
import { reports, testCatalogue } from '../helpers/builders.ts';

/** Transactions that run the work and commit (or, sending nothing with deferIfNothingSent, defer), recording each one's positions. */
function recordingTransactions(committed: CommittedOffsets) {
  const asked: CommitPosition[][] = [];
  const transactions = {
    committed,
    unsettled: () => false,
    async within<T>(positions: CommitPosition[], work: (sender: never) => Promise<T>, afterCommit?: (result: T) => Promise<void>, options?: { deferIfNothingSent?: boolean }) {
      asked.push(positions);
      let sent = false;
      const result = await work({ send: async () => void (sent = true) } as never);
      if (!sent && options?.deferIfNothingSent) return result;
      for (const p of positions) committed.note(p.topic, p.partition, p.offset, p.seq, p.txn);
      await afterCommit?.(result);
      return result;
    },
  } as unknown as OutputTransactions;
  return { transactions, asked };
}

const shipmentsTopic = 'r.shipments.v1';
const productionTopic = 'r.production.v1';

async function pass(committed: CommittedOffsets, options: { deferCommits?: boolean; clean?: boolean } = {}) {
  const { transactions, asked } = recordingTransactions(committed);
  const pipeline = createPipeline({ store: createEngineMemoryStore(), rules: loadRulesFile(), catalogue: testCatalogue(), now: () => 0 });
  const processed: (string | undefined)[] = [];
  const process = pipeline.process.bind(pipeline);
  pipeline.process = (r, o, sending) => (processed.push(sending && `${sending.topic}@${sending.offset}`), process(r, o, sending));
  const sent: Alert[] = [];
  // A shipments batch at offsets 0-1 (next offset 2) and a production batch at 0-3 (next 4), one fetch of index 0.
  // Clean: a recycler's output from no declared input, which no rule flags (as bench:pipeline's).
  const recycled = reports.production({ stage: 'RECYCLING', material: 'NDFEB_MAGNET', quantityKg: 100 });
  const shipment = options.clean ? recycled : reports.shipments({ licenceId: null });
  const production = options.clean ? recycled : reports.production();
  const batches: TakenBatch[] = [
    { batch: { kind: 'shipments', topic: shipmentsTopic, partition: 0, records: ['0', '1'].map((offset) => ({ key: null, value: Buffer.from('{}'), offset })) }, decoded: [{ ok: true, value: shipment }, { ok: true, value: shipment }] },
    { batch: { kind: 'production', topic: productionTopic, partition: 0, records: ['0', '1', '2', '3'].map((offset) => ({ key: null, value: Buffer.from('{}'), offset })) }, decoded: [0, 1, 2, 3].map(() => ({ ok: true as const, value: production })) },
  ];
  const deps = transactionalBatchDeps(pipeline, { transactions }, sent, { deferCommits: options.deferCommits });
  const outcome = await handleReportBatches(deps, batches);
  return { outcome, asked: asked.map((ps) => ps.map((p) => `${p.topic}@${p.offset}`)), processed, sent };
}

const viewAt = (entries: { topic: string; offset: string }[]) => {
  const committed = new CommittedOffsets();
  committed.reset(entries.map((e) => ({ ...e, partition: 0 })));
  return committed;
};

describe("a report pass's positions", () => {
  it('with nothing committed: every batch\'s, the outbox tagged with the first', async () => {
    const { outcome, asked, processed, sent } = await pass(viewAt([]));
    expect(asked).toEqual([[`${shipmentsTopic}@2`, `${productionTopic}@4`]]);
    expect(processed).toEqual([`${shipmentsTopic}@2`]);
    expect(sent.map((a) => a.ruleId)).toContain('unlicensed-client');
    expect(outcome.committed).toBe(true);
  });

  it("with the group's offset already past the first batch: only the other's, and the outbox tagged with it", async () => {
    const { outcome, asked, processed, sent } = await pass(viewAt([{ topic: shipmentsTopic, offset: '5' }]));
    expect(asked).toEqual([[`${productionTopic}@4`]]);
    expect(processed).toEqual([`${productionTopic}@4`]);
    expect(sent.map((a) => a.ruleId)).toContain('unlicensed-client');
    expect(outcome.committed).toBe(true);
  });

  it('with every batch covered: no transaction, and the pass says it committed nothing', async () => {
    const { outcome, asked } = await pass(viewAt([{ topic: shipmentsTopic, offset: '2' }, { topic: productionTopic, offset: '9' }]));
    expect(asked).toEqual([]);
    expect(outcome.committed).toBe(false);
  });

  it('that sent nothing with deferCommits: the pass says it committed nothing', async () => {
    const { outcome, asked, sent } = await pass(viewAt([]), { deferCommits: true, clean: true });
    expect(sent).toEqual([]);
    expect(asked).toHaveLength(1);
    expect(outcome.committed).toBe(false);
  });
});
