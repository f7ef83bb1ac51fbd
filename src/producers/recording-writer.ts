/**
 * Writes recording lines (a simulation, or a recording) to live Kafka topics, in order: the
 * simulator's Kafka writer, and how QA feeds a recorded day back into a test cluster. Topics are
 * mapped by kind onto the target prefix, so a recording made under `ree` can go to `qa.*`.
 */
import type { Producer } from 'kafkajs';
import type { Encoder } from '../codec/encode.ts';
import type { SchemaKind } from '../codec/schemas.ts';
import type { TopicNames } from '../config/topics.ts';
import { topicKindOf } from '../pipeline/recording.ts';

export interface WritableLine {
  topic: string;
  key: string | null;
  value: unknown;
  headers?: Record<string, string> | undefined;
  /** The record time to give it (the report time, in a simulation); absent or 0: the producer's clock. */
  timestamp?: number | undefined;
}

export interface WriteOptions {
  producer: Producer;
  topics: TopicNames;
  format: 'avro' | 'json';
  encoder?: Encoder | undefined;
  /** Records per produce request. */
  chunk?: number;
  onProgress?: (written: number) => void;
  /** Wall clock, only to keep record times out of the future (see recordTime). */
  now?: () => number;
}

/**
 * A line's own time as the record time, so the topics look as if the reports had arrived when
 * they were made. Never in the future: brokers refuse records stamped more than
 * message.timestamp.after.max.ms ahead of their clock (a simulation started next year).
 */
export function recordTime(line: WritableLine, now: number): string | undefined {
  if (line.timestamp === undefined || !Number.isSafeInteger(line.timestamp) || line.timestamp <= 0) return undefined;
  return String(Math.min(line.timestamp, now));
}

export async function writeLinesToKafka(lines: Iterable<WritableLine> | AsyncIterable<WritableLine>, options: WriteOptions): Promise<{ written: number; skipped: number }> {
  const chunk = options.chunk ?? 2000;
  const now = options.now ?? Date.now;
  type Message = { key: string | null; value: Buffer | null; timestamp?: string | undefined };
  let pending: (Message & { topic: string })[] = [];
  let written = 0;
  let skipped = 0;
  const flush = async () => {
    if (pending.length === 0) return;
    // Consecutive records of one topic go in one message list so Kafka keeps file order per partition.
    const topicMessages: { topic: string; messages: Message[] }[] = [];
    for (const { topic, ...message } of pending) {
      const last = topicMessages.at(-1);
      if (last && last.topic === topic) last.messages.push(message);
      else topicMessages.push({ topic, messages: [message] });
    }
    await options.producer.sendBatch({ topicMessages, acks: -1 });
    written += pending.length;
    pending = [];
    options.onProgress?.(written);
  };
  for await (const line of lines) {
    const kind = topicKindOf(line.topic);
    if (!kind || kind === 'alerts' || kind === 'deadletter') {
      skipped += 1;
      continue;
    }
    let value: Buffer | null;
    if (line.value === null) value = null;
    // A record `record` could not decode is kept as its text: send those bytes back as they were,
    // so the detector dead-letters it again rather than this writer choking on it.
    else if (line.headers?.['ree-record-error'] !== undefined && typeof line.value === 'string') value = Buffer.from(line.value, 'utf8');
    else if (options.format === 'avro' && options.encoder) value = await options.encoder.encode(kind as SchemaKind, line.value);
    else value = Buffer.from(JSON.stringify(line.value));
    const timestamp = recordTime(line, now());
    pending.push({ topic: options.topics[kind], key: line.key, value, ...(timestamp === undefined ? {} : { timestamp }) });
    // Licences go out on their own, before the reports after them, so a detector reading both
    // topics has the licence in hand by the time the export that needs it arrives.
    if (kind === 'licences' || pending.length >= chunk) await flush();
  }
  await flush();
  return { written, skipped };
}
