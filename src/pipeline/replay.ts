/**
 * Embedded replay: recording lines through the same validation, pipeline and rules as `run`, in
 * file order. Licences are applied where they stand in the file, so a replay sees the licence
 * register exactly as the recording had it: the batch before a licence line is flushed first when
 * one of its reports names that licence (only such a report reads it). So are watchlist entries
 * (always flushed before), each screened against the clients seen so far as `run` does.
 */
import { recordEnvelopeError } from '../domain/record-envelope.ts';
import type { Catalogue } from '../domain/catalogue.ts';
import type { Alert, Report } from '../domain/events.ts';
import { REPORT_TOPIC_KINDS, type ReportTopicKind } from '../config/topics.ts';
import { validateLicence, validateQuota, validateReport, validateWatchlistEntry } from '../domain/validate.ts';
import { InvalidRecordError, errorMessage } from '../errors.ts';
import type { RuleSet } from '../config/rules-file.ts';
import type { StateStore } from '../state/store.ts';
import type { StateEngine } from '../state/engine/engine.ts';
import { createMemoryCustodyLedger, type CustodyLedger } from '../state/custody-ledger.ts';
import { createMemoryQuotaRegister, type QuotaRegister } from '../state/quota-register.ts';
import { createPipeline, type ReportOrigin } from './pipeline.ts';
import type { TimerIndex } from './timer-index.ts';
import { createMemoryWatermark, type WatermarkTracker } from './watermark-tracker.ts';
import { topicKindOf, type ParsedLine, type RecordingLine } from './recording.ts';

export interface ReplayOptions {
  store: StateStore & { engine?: StateEngine };
  /** Default: in memory. */
  custody?: CustodyLedger;
  /** Filled from the recording's quota lines in file order. Default: in memory. */
  quotas?: QuotaRegister;
  /** Default: in memory with allowedLatenessMs. */
  watermark?: WatermarkTracker;
  /** Default: pipeline.ts's in-memory index. */
  timerIndex?: TimerIndex;
  /** For the default watermark (watermark-tracker.ts's default when absent). */
  allowedLatenessMs?: number;
  rules: RuleSet;
  catalogue: Catalogue;
  batchSize?: number;
  /**
   * On an engine that defers its saves (engine.ts, deferSaves: `replay --redis`), a checkpoint
   * after the batch that brings the reports since the last one to at least this many. Default
   * DEFAULT_CHECKPOINT_REPORTS; the replay's end always checkpoints.
   */
  checkpointEvery?: number;
  onAlerts?: (alerts: Alert[]) => void | Promise<void>;
  onDeadLetter?: (dead: { lineNo: number; topic?: string; reason: string }) => void | Promise<void>;
  /** Called after each batch with the number of lines read so far. */
  onProgress?: (linesRead: number) => void;
  /** detectedAt of the alerts found. */
  now?: () => number;
  /**
   * When the recording is read, for refusing a report reported later than that
   * (record-envelope.ts): the wall clock at the replay's start by default; a line's own timestamp
   * when later.
   */
  readAt?: number;
}

export interface ReplaySummary {
  lines: number;
  reports: number;
  licences: number;
  /** Watchlist entries and tombstones applied. */
  watchlist: number;
  /** Production quota records (and tombstones) applied. */
  quotas: number;
  skipped: number;
  deadLetters: number;
  alerts: number;
  alertsByRule: Record<string, number>;
  seconds: number;
}

const REPORT_KINDS = new Set<string>(REPORT_TOPIC_KINDS);

/**
 * Reports between a Redis replay's checkpoints. Each checkpoint writes every producer touched since
 * the last one, whole fields, so its cost is about the whole state whatever the interval: at one
 * per 2,000-report batch the writes cost more node CPU than the rules, and 100,000 took 0.90x the
 * CPU of 20,000 (bench/README, "checkpoints"). A replay starts in a fresh namespace and is never
 * resumed, so what a longer interval risks is only work a crashed replay would redo anyway; at
 * 15-30 k reports/s it is a few seconds, as Kafka Streams' default commit interval is 30 s.
 */
export const DEFAULT_CHECKPOINT_REPORTS = 100_000;

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * A record of a compacted reference topic: the validated value, or null for a tombstone, checked
 * against its key as the live consumers check it.
 */
function referenceRecord<T extends object>(line: RecordingLine, idField: keyof T & string, validate: (value: unknown) => T): { id: string; value: T | null } {
  if (line.value === null) {
    if (!line.key) throw new InvalidRecordError('REE_ERR_VALIDATION', `key: a tombstone needs the ${idField} it deletes as its key`);
    return { id: line.key, value: null };
  }
  const value = validate(line.value);
  const id = String(value[idField]);
  if (line.key && line.key !== id) throw new InvalidRecordError('REE_ERR_VALIDATION', `record key "${line.key}" is not the ${idField} "${id}"`);
  return { id, value };
}

/**
 * A recorded report's watermark source: its partition number, as live (handle-batch.ts). The four
 * report topics are co-partitioned by producer and read aligned on occurredAt, so one partition
 * number is one group of producers; a sparse topic (stock declarations come every two weeks) must
 * not hold the watermark back while its producers' other reports move on. A line without a
 * partition (a hand-made or simulated file) counts the whole recording as one source: the watermark
 * may then run ahead of the partitioned one by as far as partitions drift apart in occurredAt,
 * which in a recording in report-time order stays within the reporting delay the allowed lateness
 * covers; rules judge by event times, so alerts do not change.
 */
function originOf(_kind: string, line: RecordingLine): ReportOrigin {
  if (line.partition === undefined) return WHOLE_RECORDING;
  let origin = originsByPartition.get(line.partition);
  if (origin === undefined) originsByPartition.set(line.partition, (origin = Object.freeze({ source: `p${line.partition}`, partition: line.partition })));
  return origin;
}

/**
 * Origins are read-only and a recording has a few partitions: one object per partition rather
 * than an object and a source string per report, which a batch would hold until it runs.
 */
const WHOLE_RECORDING: ReportOrigin = Object.freeze({ source: 'all', partition: 0 });
const originsByPartition = new Map<number, ReportOrigin>();

export async function replayLines(lines: AsyncIterable<ParsedLine> | Iterable<ParsedLine>, options: ReplayOptions): Promise<ReplaySummary> {
  const started = performance.now();
  const quotas = options.quotas ?? createMemoryQuotaRegister();
  const pipeline = createPipeline({
    store: options.store,
    rules: options.rules,
    catalogue: options.catalogue,
    now: options.now,
    custody: options.custody ?? createMemoryCustodyLedger(),
    quotas,
    watermark: options.watermark ?? createMemoryWatermark(options.allowedLatenessMs),
    timerIndex: options.timerIndex,
  });
  const readAt = options.readAt ?? Date.now();
  const batchSize = options.batchSize ?? 2000;
  const checkpointEvery = options.checkpointEvery ?? DEFAULT_CHECKPOINT_REPORTS;
  let checkpointedAt = 0;
  const summary: ReplaySummary = { lines: 0, reports: 0, licences: 0, watchlist: 0, quotas: 0, skipped: 0, deadLetters: 0, alerts: 0, alertsByRule: {}, seconds: 0 };
  let batch: Report[] = [];
  let origins: ReportOrigin[] = [];
  /** The licences the pending batch's reports name: a licence line flushes the batch only if it is one of them. */
  let batchLicences = new Set<string>();

  const dead = async (lineNo: number, reason: string, topic?: string) => {
    summary.deadLetters += 1;
    await options.onDeadLetter?.({ lineNo, topic, reason });
  };

  const publish = async (alerts: Alert[]) => {
    // Out first, then marked: a crash in between repeats an alert on a re-run, never loses one.
    if (alerts.length > 0) await options.onAlerts?.(alerts);
    await pipeline.markPublished(alerts);
    summary.alerts += alerts.length;
    for (const a of alerts) summary.alertsByRule[a.ruleId] = (summary.alertsByRule[a.ruleId] ?? 0) + 1;
  };

  /**
   * Licence writes sent and not yet awaited. A recording has a licence line every hundred-odd
   * reports, and against Redis a round trip each cost more wall time than the batches around them;
   * they go out in file order on one connection, and a flush waits for them before its reports read
   * the register. A write the store refuses is a dead letter, as before.
   */
  let licenceWrites: Promise<void>[] = [];
  const writeLicence = (write: Promise<void>, lineNo: number, topic: string) => {
    licenceWrites.push(
      write.then(
        () => {
          summary.licences += 1;
        },
        (err: unknown) => dead(lineNo, `line ${lineNo}: ${errorMessage(err)}`, topic),
      ),
    );
  };
  const settleLicences = async () => {
    const sent = licenceWrites;
    licenceWrites = [];
    await Promise.all(sent);
  };

  const flush = async () => {
    await settleLicences();
    if (batch.length === 0) return;
    await publish(await pipeline.process(batch, origins));
    // After every batch, as `run` does: what the watermark has now passed fires.
    await publish(await pipeline.fireTimers());
    summary.reports += batch.length;
    if (summary.reports - checkpointedAt >= checkpointEvery) {
      options.store.engine?.checkpoint();
      checkpointedAt = summary.reports;
    }
    batch = [];
    origins = [];
    batchLicences = new Set();
    options.onProgress?.(summary.lines);
  };

  for await (const parsed of lines) {
    summary.lines += 1;
    if (!parsed.ok) {
      await dead(parsed.lineNo, parsed.error);
      continue;
    }
    const { line, lineNo } = parsed;
    const kind = topicKindOf(line.topic);
    if (kind && REPORT_KINDS.has(kind)) {
      try {
        const report = validateReport(kind as ReportTopicKind, line.value);
        // A line recorded from Kafka (partition and offset) was read live once, before this replay:
        // judged against the replay's start, never more strictly than then, and its record time (the
        // producer's to set) plays no part; a keyless one was refused there. A line written by the
        // simulator or by hand was never live: its own time counts when later (a future-dated run).
        const recorded = line.partition !== undefined && line.offset !== undefined;
        const envelopeError = recordEnvelopeError({ key: line.key, readAt: recorded ? readAt : Math.max(readAt, line.timestamp), keyRequired: recorded }, report);
        if (envelopeError) throw envelopeError;
        batch.push(report);
        origins.push(originOf(kind, line));
        if (report.kind === 'shipments' && report.event.licenceId) batchLicences.add(report.event.licenceId);
      } catch (err) {
        await dead(lineNo, `line ${lineNo}: ${errorMessage(err)}`, line.topic);
      }
      if (batch.length >= batchSize) await flush();
    } else if (kind === 'licences') {
      // A report reads a licence only by the licenceId it names (pipeline.ts, getLicenceVersions):
      // one that names another licence sees the same register whether this line is applied before
      // or after it, and later reports in the batch come after this line anyway. So the batch is
      // flushed only when it names this licence (or a keyless tombstone's, which is refused below),
      // instead of at every licence line: batches stay near batchSize, and a Redis replay writes
      // each producer's chunks once per batch rather than once per licence line. The alerts are
      // the same (rules judge by event times, not by where a batch ends).
      const licenceId = line.key || (isRecord(line.value) && typeof line.value['licenceId'] === 'string' ? line.value['licenceId'] : undefined);
      if (licenceId === undefined || batchLicences.has(licenceId)) await flush();
      try {
        if (line.value === null) {
          // Never silently dropped: Kafka refuses a keyless record on a compacted topic, so only a hand-edited file has one.
          if (!line.key) throw new InvalidRecordError('REE_ERR_VALIDATION', 'key: a tombstone needs the licenceId it deletes as its key');
          writeLicence(options.store.deleteLicence(line.key), lineNo, line.topic);
        } else {
          const licence = validateLicence(line.value);
          // The live licence consumer refuses this too; a recording must replay as the topic ran.
          if (line.key && line.key !== licence.licenceId) {
            throw new InvalidRecordError('REE_ERR_VALIDATION', `record key "${line.key}" is not the licenceId "${licence.licenceId}"`);
          }
          writeLicence(options.store.putLicence(licence), lineNo, line.topic);
        }
      } catch (err) {
        await dead(lineNo, `line ${lineNo}: ${errorMessage(err)}`, line.topic);
      }
    } else if (kind === 'watchlist') {
      await flush();
      try {
        const { id, value } = referenceRecord(line, 'entryId', validateWatchlistEntry);
        summary.watchlist += 1;
        await publish(await pipeline.applyWatchlist([{ entryId: id, entry: value }]));
      } catch (err) {
        if (!(err instanceof InvalidRecordError)) throw err;
        await dead(lineNo, `line ${lineNo}: ${errorMessage(err)}`, line.topic);
      }
    } else if (kind === 'quotas') {
      // In file order, as licences: the reports before it are judged without it.
      await flush();
      try {
        const { id, value } = referenceRecord(line, 'quotaId', validateQuota);
        if (value) await quotas.putQuota(value);
        else await quotas.deleteQuota(id);
        summary.quotas += 1;
      } catch (err) {
        await dead(lineNo, `line ${lineNo}: ${errorMessage(err)}`, line.topic);
      }
    } else {
      // Alerts and dead letters are outputs, not inputs.
      summary.skipped += 1;
    }
  }
  // The last flush settles the licence writes too (it always does first, with or without a batch).
  await flush();
  // With Redis, the last checkpoint is made here, and saves may still be in flight (engine.ts,
  // deferSaves): the replay has succeeded only once every one is durable, and a failed one fails it
  // here.
  await options.store.engine?.settle();
  summary.seconds = (performance.now() - started) / 1000;
  return summary;
}
