/**
 * Sends many records to one topic as several produce requests of bounded size.
 *
 * kafkajs puts everything one send() gives a partition into one record batch, and the broker
 * refuses a batch over its message.max.bytes (1 MB by default) with MESSAGE_TOO_LARGE. That error
 * is not retriable, so one oversized batch of alerts or dead letters would stop the consumer for
 * good. Bounding each send well under the broker's limit, before compression, keeps every batch
 * acceptable whatever the topic's compression does.
 */
import { CompressionTypes, type IHeaders, type Message, type Producer } from 'kafkajs';

/** A producer, or a transaction of one: what sends records. */
export type MessageSender = Pick<Producer, 'send'>;

export interface ChunkLimits {
  /** Upper bound on the estimated bytes of keys, values and headers in one send. */
  maxBytes: number;
  maxMessages: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = { maxBytes: 512 * 1024, maxMessages: 2_000 };

// Per-record framing in a v2 record batch (length, attributes, deltas, varint lengths) is under
// 30 bytes, and a header adds two varint lengths; overestimating only makes chunks smaller.
const RECORD_OVERHEAD_BYTES = 32;
const HEADER_OVERHEAD_BYTES = 8;

const byteLength = (v: Buffer | string | null | undefined): number => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length);

function headersSize(headers: IHeaders | undefined): number {
  let bytes = 0;
  for (const [name, value] of Object.entries(headers ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) bytes += HEADER_OVERHEAD_BYTES + byteLength(name) + byteLength(v);
  }
  return bytes;
}

export function estimatedSize(message: Message): number {
  return RECORD_OVERHEAD_BYTES + byteLength(message.key) + byteLength(message.value) + headersSize(message.headers);
}

/**
 * Splits messages, in order, into chunks within the limits. A single message over maxBytes gets
 * a chunk of its own: whether the broker takes it is then down to that record alone.
 */
export function chunkMessages<M extends Message>(messages: readonly M[], limits: ChunkLimits = DEFAULT_CHUNK_LIMITS): M[][] {
  const chunks: M[][] = [];
  let current: M[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = estimatedSize(message);
    if (current.length > 0 && (bytes + size > limits.maxBytes || current.length >= limits.maxMessages)) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * One send per chunk, one after another so records of a key keep their order. If a later chunk
 * fails, the earlier ones are already written: callers retry the whole set, which is at-least-once
 * like every other redelivery here.
 */
export async function sendInChunks(
  producer: MessageSender,
  record: { topic: string; messages: Message[]; acks: number },
  limits: ChunkLimits = DEFAULT_CHUNK_LIMITS,
): Promise<void> {
  for (const messages of chunkMessages(record.messages, limits)) {
    await producer.send({ topic: record.topic, acks: record.acks, compression: CompressionTypes.GZIP, messages });
  }
}
