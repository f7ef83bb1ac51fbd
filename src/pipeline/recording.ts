/**
 * The recording format (DESIGN.md): JSON Lines, one Kafka record per line,
 * `{"topic","key","timestamp","headers"?,"partition"?,"offset"?,"value"}`, value = the event as
 * JSON (null for a tombstone). Read as a stream so a recording of millions of lines never has to
 * fit in memory.
 */
import { statSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { ReeError } from '../errors.ts';
import type { TopicKind } from '../config/topics.ts';

export interface RecordingLine {
  topic: string;
  key: string | null;
  timestamp: number;
  headers?: Record<string, string> | undefined;
  partition?: number | undefined;
  offset?: string | undefined;
  value: unknown;
}

const KIND_OF_TOPIC = /(?:^|\.)(production|shipments|receipts|inventory|licences|watchlist|quotas|alerts|deadletter)\.v\d+$/;

/** Topic kinds by topic name: asked once per record, of a handful of topics. */
const kinds = new Map<string, TopicKind | undefined>();

/** The topic kind whatever the deployment's prefix: `acme.shipments.v1` is a shipments topic. */
export function topicKindOf(topic: string): TopicKind | undefined {
  if (kinds.has(topic)) return kinds.get(topic);
  const kind = KIND_OF_TOPIC.exec(topic)?.[1] as TopicKind | undefined;
  if (kinds.size < 1000) kinds.set(topic, kind);
  return kind;
}

/** A time field as recorded: epoch ms, or an ISO-8601 string from a JSON producer. */
function timeField(value: unknown, field: string): number | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const raw = (value as Record<string, unknown>)[field];
  if (typeof raw === 'number' && Number.isFinite(raw)) return raw;
  if (typeof raw === 'string') {
    const parsed = Date.parse(raw);
    return Number.isNaN(parsed) ? undefined : parsed;
  }
  return undefined;
}

/**
 * When a recorded record became known, by its own content, never its record time (whatever its
 * producer set): a report's reportedAt, a licence version's effectiveAt (absent: issuedAt), a
 * watchlist entry's listedAt. `record` merges topics in this order, so a backlog loaded in seconds,
 * in any order of topics, records as the reports were made. A record without such a time (a
 * tombstone, one kept as raw text) falls back to its record time.
 *
 * The first record a topic still holds of a licence (`firstOfItsLicence`) is known from the
 * licence's issuedAt, whatever version it is: a compacted topic keeps a later version (a
 * revocation) in place of the records before it, and the licence was in force, as issued, from
 * then (licence-versions.ts), as the live detector, which reads the topic whole before any report,
 * judges it. At effectiveAt, a replay would find no licence for the exports before it.
 */
export function knownAtOf(line: Pick<RecordingLine, 'topic' | 'timestamp' | 'value'>, firstOfItsLicence = false): number {
  const kind = topicKindOf(line.topic);
  const own =
    kind === 'licences'
      ? ((firstOfItsLicence ? timeField(line.value, 'issuedAt') : undefined) ?? timeField(line.value, 'effectiveAt') ?? timeField(line.value, 'issuedAt'))
      : kind === 'watchlist'
        ? timeField(line.value, 'listedAt')
        : kind === 'quotas'
          ? timeField(line.value, 'issuedAt')
        : kind === 'production' || kind === 'shipments' || kind === 'receipts' || kind === 'inventory'
          ? timeField(line.value, 'reportedAt')
          : undefined;
  return own ?? line.timestamp;
}

export type ParsedLine = { ok: true; line: RecordingLine; lineNo: number } | { ok: false; error: string; raw: string; lineNo: number };

export function parseRecordingLine(raw: string, lineNo: number): ParsedLine {
  let obj: unknown;
  try {
    obj = JSON.parse(raw);
  } catch (err) {
    return { ok: false, error: `line ${lineNo}: not JSON: ${(err as Error).message}`, raw, lineNo };
  }
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) return { ok: false, error: `line ${lineNo}: not a JSON object`, raw, lineNo };
  const o = obj as Record<string, unknown>;
  if (typeof o.topic !== 'string' || o.topic === '') return { ok: false, error: `line ${lineNo}: topic: expected a topic name`, raw, lineNo };
  if (!('value' in o)) return { ok: false, error: `line ${lineNo}: value: missing (use null for a tombstone)`, raw, lineNo };
  return {
    ok: true,
    lineNo,
    line: {
      topic: o.topic,
      key: typeof o.key === 'string' ? o.key : null,
      timestamp: typeof o.timestamp === 'number' ? o.timestamp : 0,
      headers: (o.headers as Record<string, string> | undefined) ?? undefined,
      partition: typeof o.partition === 'number' ? o.partition : undefined,
      offset: typeof o.offset === 'string' ? o.offset : undefined,
      value: o.value,
    },
  };
}

export interface RecordingReader {
  lines: AsyncIterable<ParsedLine>;
  totalBytes: number;
  bytesRead(): number;
}

export function readRecording(path: string): RecordingReader {
  let totalBytes: number;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw new Error('not a file');
    totalBytes = stat.size;
  } catch (err) {
    throw new ReeError('REE_ERR_INPUT_FILE', `cannot read recording ${path}: ${(err as Error).message}`);
  }
  // Opened when iteration starts and read as it goes (pulled, never pushed: a caller that first
  // awaits, say, a Redis connection loses no line), closed when it ends or stops.
  let bytesRead = 0;
  const read: ReadInto = async (into, at) => {
    const n = (await file!.read(into, at, into.length - at, null)).bytesRead;
    bytesRead += n;
    return n;
  };
  let file: FileHandle | undefined;
  const lines = new ParsedLines(
    async () => {
      file = await open(path, 'r');
      return lineBatches(read)[Symbol.asyncIterator]();
    },
    async () => {
      const opened = file;
      file = undefined;
      await opened?.close();
    },
  );
  return { lines, totalBytes, bytesRead: () => bytesRead };
}

const DONE: IteratorReturnResult<undefined> = { value: undefined, done: true };

/**
 * Parsed lines from batches of raw lines, as an iterator written out rather than an async
 * generator: a generator's yield awaits and settles a promise of its own for every line, which
 * cost about a third of reading and parsing a recording (r300: ~0.50 CPU s, ~0.38 s this way).
 * A line already read comes back in a promise already resolved.
 */
class ParsedLines implements AsyncIterableIterator<ParsedLine> {
  private batches: AsyncIterator<string[]> | undefined;
  private batch: string[] = [];
  private at = 0;
  private lineNo = 0;
  private finished = false;

  constructor(
    private readonly start: () => Promise<AsyncIterator<string[]>>,
    private readonly end: () => Promise<void>,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<ParsedLine>> {
    while (this.at < this.batch.length) {
      const raw = this.batch[this.at]!;
      this.at += 1;
      this.lineNo += 1;
      if (raw.trim() === '') continue;
      return Promise.resolve({ value: parseRecordingLine(raw, this.lineNo), done: false });
    }
    return this.nextBatch();
  }

  private async nextBatch(): Promise<IteratorResult<ParsedLine>> {
    if (this.finished) return DONE;
    try {
      this.batches ??= await this.start();
      const got = await this.batches.next();
      if (got.done) return await this.return();
      this.batch = got.value;
      this.at = 0;
    } catch (err) {
      await this.return();
      throw err;
    }
    return this.next();
  }

  /** Stops early (a `for await` left by break or throw) or at the end: the file is closed. */
  async return(): Promise<IteratorResult<ParsedLine>> {
    if (!this.finished) {
      this.finished = true;
      this.batch = [];
      await this.batches?.return?.();
      await this.end();
    }
    return DONE;
  }
}

const NEWLINE = 0x0a;
/** How many lines lineBatches hands on at once (see where it yields). */
export const LINES_PER_BATCH = 256;
const CARRIAGE_RETURN = 0x0d;

/** Reads into `into` from `at` up to its end; resolves to the bytes read, 0 at the end of the input. */
export type ReadInto = (into: Buffer, at: number) => Promise<number>;

/**
 * The lines of a byte stream, up to LINES_PER_BATCH at a time, split as readline splits them with
 * `crlfDelay: Infinity` (`\n`, `\r\n` and a lone `\r` each end a line; no empty line after a
 * final break). Split on bytes and decoded line by line: a recording is mostly ASCII, and decoding
 * a whole chunk that holds one non-ASCII name makes a two-byte string, which readline's decoder
 * and line regex then scan. Reading the 128 k-line r300 recording cost ~1.5 CPU s through
 * readline, ~0.5 s this way. A line's bytes are decoded together, so a multi-byte character split
 * between two chunks decodes whole.
 */
export async function* lineBatches(read: ReadInto, chunkBytes = 1 << 20): AsyncIterable<string[]> {
  // One buffer, read into again and again: a stream's fresh buffer per chunk (and joining a line
  // cut at a chunk's end onto the next) cost ten times the reading itself.
  let buffer = Buffer.allocUnsafe(chunkBytes);
  /** Bytes at the buffer's start not yet split: the start of a line cut at the last read's end. */
  let kept = 0;
  for (;;) {
    // A line longer than the buffer: a bigger one.
    if (kept === buffer.length) buffer = Buffer.concat([buffer, Buffer.allocUnsafe(buffer.length)]);
    const got = await read(buffer, kept);
    if (got === 0) break;
    const filled = kept + got;
    const chunk = buffer.subarray(0, filled);
    // A lone `\r` is rare enough (old Mac files) to take the slow path for the whole chunk.
    const carriageReturns = chunk.indexOf(CARRIAGE_RETURN) !== -1;
    let lines: string[] = [];
    let start = 0;
    let end: number;
    while ((end = chunk.indexOf(NEWLINE, start)) !== -1) {
      const line = chunk.toString('utf8', start, end);
      start = end + 1;
      if (carriageReturns) lines.push(...splitCarriageReturns(line));
      else lines.push(line);
      // Handed on a few hundred at a time rather than a whole chunk's (~3,000 lines of a
      // recording): a line held while the reports before it are processed outlives two young-
      // generation GCs and is copied to the old space, where it is garbage that grows the heap.
      // The buffer is not touched until the loop ends, so yielding here is safe.
      if (lines.length >= LINES_PER_BATCH) {
        yield lines;
        lines = [];
      }
    }
    buffer.copyWithin(0, start, filled);
    kept = filled - start;
    if (lines.length > 0) yield lines;
  }
  // No empty line after a final break, as readline.
  if (kept > 0) yield splitCarriageReturns(buffer.toString('utf8', 0, kept));
}

/** A line's own breaks: a `\r` ending it belongs to its `\r\n`; any other is a lone break. */
function splitCarriageReturns(line: string): string[] {
  const own = line.endsWith('\r') ? line.slice(0, -1) : line;
  return own.includes('\r') ? own.split('\r') : [own];
}
