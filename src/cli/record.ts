/**
 * `ree-sentinel record`: live topics into a recording file (DESIGN.md format), Avro decoded to
 * JSON, so QA can replay exactly what the detector saw.
 */
import { createReadStream, createWriteStream, mkdtempSync, rmSync, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { createRegistryClient } from '../codec/registry-client.ts';
import type { Kafka } from 'kafkajs';
import { createDecoder } from '../codec/decode.ts';
import { helpLine, loadSettings, settingsHelp } from '../config/settings.ts';
import { topicNames } from '../config/topics.ts';
import { InvalidRecordError, ReeError, errorMessage } from '../errors.ts';
import { knownAtOf, topicKindOf, type RecordingLine } from '../pipeline/recording.ts';
import { intOption, parseCommandArgs } from './args.ts';
import { openOutputFile } from './output-file.ts';
import { connectAdmin, quietKafkaClient } from '../kafka/client.ts';

export const RECORD_USAGE = `Usage: ree-sentinel record --out rec.jsonl [--topics t1,t2] [--until-end | --max N] [options]

Reads topics from the beginning and writes one JSON line per record:
{"topic","key","timestamp","headers","partition","offset","value"} (value decoded from Avro or JSON).

Options:
  --out <file>      the recording to write (required)
  --topics <list>   comma-separated topics (default: the report, licence, watchlist and quota topics of --prefix)
  --until-end       stop once every partition is read up to its end at start (default when no --max)
  --max <n>         stop after n records
  --timeout <s>     give up waiting for records after this many idle seconds (default 30)
Connection settings (flag, environment variable):
${settingsHelp(['brokers', 'registry', 'prefix'])}
${helpLine('-h, --help', '', 'this help')}`;

export async function recordCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    { out: { type: 'string' }, topics: { type: 'string' }, 'until-end': { type: 'boolean' }, max: { type: 'string' }, timeout: { type: 'string' }, brokers: { type: 'string' }, registry: { type: 'string' }, prefix: { type: 'string' } },
    RECORD_USAGE,
  );
  if (values.help) {
    console.log(RECORD_USAGE);
    return 0;
  }
  if (!values.out) throw new ReeError('REE_ERR_USAGE', `--out is required\n\n${RECORD_USAGE}`);
  const settings = loadSettings(process.env, values as Record<string, string | undefined>);
  const names = topicNames(settings.topicPrefix);
  const topics = values.topics ? String(values.topics).split(',').map((t) => t.trim()).filter(Boolean) : [names.production, names.shipments, names.receipts, names.inventory, names.licences, names.watchlist, names.quotas];
  const max = values.max === undefined ? Infinity : intOption(values.max as string, 'max', 0, 1);
  const idleMs = intOption(values.timeout as string | undefined, 'timeout', 30, 1) * 1000;
  const stats = await recordTopics({ brokers: settings.kafkaBrokers, registryUrl: settings.schemaRegistryUrl, topics, out: values.out as string, max, idleMs });
  console.error(`recorded ${stats.records} records from ${topics.length} topics to ${values.out}${stats.undecodable ? ` (${stats.undecodable} undecodable, kept as raw text)` : ''}`);
  return 0;
}

/**
 * Records the topics up to their ends at start, merged into one file by when each record became known
 * by its own content (a report's reportedAt, a licence's effectiveAt: see knownAtOf), never by record
 * time, which is whatever its producer set; licences before reports at the same instant. A replay
 * then gives the alerts the live detector gives, however the topics were loaded.
 */
export async function recordTopics(options: { brokers: string[]; registryUrl: string; topics: string[]; out: string; max?: number; idleMs?: number }) {
  const kafka = quietKafkaClient('ree-sentinel-record', options.brokers);
  const decoder = createDecoder(options.registryUrl === 'none' ? {} : { registry: createRegistryClient(options.registryUrl) });
  const out = await openOutputFile(options.out, 'recording');
  const stats = { records: 0, undecodable: 0 };
  try {
    await recordPhase(kafka, options.brokers, decoder, options.topics, out.stream, stats, options.max ?? Infinity, options.idleMs ?? 30_000);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return stats;
}

async function recordPhase(
  kafka: Kafka,
  brokers: readonly string[],
  decoder: ReturnType<typeof createDecoder>,
  topics: string[],
  out: ReturnType<typeof createWriteStream>,
  stats: { records: number; undecodable: number },
  max: number,
  idleMs: number,
): Promise<void> {
  const admin = await connectAdmin(kafka, brokers);
  // What "the end" means is fixed at start, so a busy topic cannot keep the recording open forever.
  const remaining = new Map<string, bigint>();
  try {
    for (const topic of topics) {
      let offsets;
      try {
        offsets = await admin.fetchTopicOffsets(topic);
      } catch (err) {
        throw new ReeError('REE_ERR_KAFKA', `cannot read topic ${topic}: ${errorMessage(err)}`);
      }
      for (const o of offsets) if (BigInt(o.high) > BigInt(o.low)) remaining.set(`${topic}/${o.partition}`, BigInt(o.high) - 1n);
    }
  } finally {
    await admin.disconnect();
  }
  if (remaining.size === 0 || stats.records >= max) return;
  // Each topic-partition spills to its own file in offset order; the files are then merged by
  // report time, so the recording interleaves topics as the reports were made, not as fetched.
  const dir = mkdtempSync(join(tmpdir(), 'ree-record-'));
  const spills = new Map<string, { path: string; stream: WriteStream }>();
  const spill = (topic: string, partition: number): WriteStream => {
    const key = `${topic}/${partition}`;
    let s = spills.get(key);
    if (!s) {
      const path = join(dir, `${spills.size}.jsonl`);
      s = { path, stream: createWriteStream(path) };
      spills.set(key, s);
    }
    return s.stream;
  };
  try {
    await consumeUntilEnd(kafka, decoder, topics, remaining, spill, stats, max, idleMs);
    for (const s of spills.values()) {
      s.stream.end();
      await once(s.stream, 'finish');
    }
    await mergeByTime([...spills].map(([key, s]) => ({ path: s.path, topic: key.slice(0, key.lastIndexOf('/')) })), out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const isReference = (topic: string) => /(^|\.)(licences|watchlist|quotas)\.v\d+$/.test(topic);

type MergeKey = (number | string)[];
type Keyed = { line: string; key: MergeKey };

/** Ties are broken by topic, partition and offset, never by fetch order, so two recordings of the same topics are the same file. */
function mergeKeyOf(line: string, firstOfItsLicence = false): MergeKey {
  const parsed = JSON.parse(line) as { timestamp: number; topic: string; partition?: number; offset?: string; value: unknown };
  return [knownAtOf(parsed, firstOfItsLicence), isReference(parsed.topic) ? 0 : 1, parsed.topic, parsed.partition ?? 0, Number(parsed.offset ?? 0)];
}

const before = (a: MergeKey, b: MergeKey) => {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return false;
};

const linesOf = (path: string) => createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });

/** A partition's records in offset order, which is their known-at order. */
async function* keyedLines(path: string): AsyncGenerator<Keyed> {
  for await (const line of linesOf(path)) yield { line, key: mergeKeyOf(line) };
}

/**
 * A licences partition in known-at order. Each licence's first record moves back to its issuance
 * (knownAtOf), ahead of other licences' records before it in offset order, so the partition is
 * sorted (in memory: it is compacted reference data). A licence's later records are kept after
 * its first, in offset order, as the versions and tombstones were written.
 */
async function* licenceLines(path: string): AsyncGenerator<Keyed> {
  const lastOf = new Map<string, MergeKey>();
  const all: Keyed[] = [];
  for await (const line of linesOf(path)) {
    const id = (JSON.parse(line) as { key: string | null }).key;
    let key = mergeKeyOf(line, id !== null && !lastOf.has(id));
    const last = id === null ? undefined : lastOf.get(id);
    if (last && before(key, last)) key = [last[0]!, ...key.slice(1)];
    if (id !== null) lastOf.set(id, key);
    all.push({ line, key });
  }
  yield* all.sort((a, b) => (before(a.key, b.key) ? -1 : before(b.key, a.key) ? 1 : 0));
}

/** k-way merge of partition spills into one file by known-at time (mergeKeyOf). Exported for tests. */
export async function mergeByTime(spills: readonly { path: string; topic: string }[], out: Writable): Promise<void> {
  const heads = await Promise.all(
    spills.map(async ({ path, topic }) => {
      const it = topicKindOf(topic) === 'licences' ? licenceLines(path) : keyedLines(path);
      const first = await it.next();
      return { it, head: first.done ? undefined : first.value };
    }),
  );
  for (;;) {
    let best = -1;
    for (let i = 0; i < heads.length; i += 1) {
      const h = heads[i]!;
      if (h.head !== undefined && (best < 0 || before(h.head.key, heads[best]!.head!.key))) best = i;
    }
    if (best < 0) return;
    const h = heads[best]!;
    if (!out.write(h.head!.line + '\n')) await once(out, 'drain');
    const next = await h.it.next();
    h.head = next.done ? undefined : next.value;
  }
}

async function consumeUntilEnd(
  kafka: Kafka,
  decoder: ReturnType<typeof createDecoder>,
  topics: string[],
  remaining: Map<string, bigint>,
  spill: (topic: string, partition: number) => WriteStream,
  stats: { records: number; undecodable: number },
  max: number,
  idleMs: number,
): Promise<void> {
  // A throwaway group: recording must not move any real consumer's offsets.
  // No restart after a crash: a restarted consumer re-reads from the start and would write
  // records twice; the recording fails instead and can be taken again.
  const consumer = kafka.consumer({ groupId: `ree-record-${randomUUID()}`, retry: { retries: 5, restartOnFailure: async () => false } });
  await consumer.connect();
  await consumer.subscribe({ topics, fromBeginning: true });
  let lastActivity = Date.now();
  try {
    await new Promise<void>((resolve, reject) => {
      const idle = setInterval(() => {
        if (Date.now() - lastActivity <= idleMs) return;
        clearInterval(idle);
        // Going quiet before the end offsets were reached means records are missing: say which.
        if (remaining.size > 0 && stats.records < max) {
          const missing = [...remaining.keys()].slice(0, 5).join(', ');
          reject(new ReeError('REE_ERR_KAFKA', `no records for ${idleMs / 1000} s before reaching the end of ${remaining.size} partition(s) (${missing}); the recording is incomplete and was not written`));
        } else resolve();
      }, 500);
      const finish = () => {
        clearInterval(idle);
        resolve();
      };
      // A partition written in transactions ends in a commit marker, which takes an offset and is
      // never handed out as a message: the end is reached when a batch, markers included, has.
      consumer.on(consumer.events.END_BATCH_PROCESS, (e) => {
        lastActivity = Date.now();
        const key = `${e.payload.topic}/${e.payload.partition}`;
        const end = remaining.get(key);
        if (end === undefined || BigInt(e.payload.lastOffset) < end) return;
        remaining.delete(key);
        if (remaining.size === 0) finish();
      });
      consumer.on(consumer.events.CRASH, (e) => {
        clearInterval(idle);
        reject(new ReeError('REE_ERR_KAFKA', `recording stopped: ${errorMessage(e.payload.error)}; the recording was not written`));
      });
      consumer
        .run({
          eachMessage: async ({ topic, partition, message }) => {
            lastActivity = Date.now();
            const key = `${topic}/${partition}`;
            const end = remaining.get(key);
            if (stats.records >= max || end === undefined || BigInt(message.offset) > end) return;
            let value: unknown;
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(message.headers ?? {})) if (v !== undefined) headers[k] = Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
            try {
              value = await decoder.decode(message.value);
            } catch (err) {
              // A registry that is down is not bad data: fail the recording rather than store valid
              // Avro as text. Bad records are kept, not dropped: replay dead-letters them, as run would.
              if (!(err instanceof InvalidRecordError)) throw err;
              stats.undecodable += 1;
              value = message.value?.toString('utf8') ?? null;
              headers['ree-record-error'] = errorMessage(err);
            }
            const line: RecordingLine = {
              topic,
              key: message.key?.toString('utf8') ?? null,
              timestamp: Number(message.timestamp),
              headers: Object.keys(headers).length > 0 ? headers : undefined,
              partition,
              offset: message.offset,
              value,
            };
            const file = spill(topic, partition);
            if (!file.write(JSON.stringify(line) + '\n')) await once(file, 'drain');
            stats.records += 1;
            if (BigInt(message.offset) >= end) remaining.delete(key);
            if (remaining.size === 0 || stats.records >= max) finish();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
}
