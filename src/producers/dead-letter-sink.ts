/**
 * Bad input is never dropped: the original key and bytes go to the dead-letter topic with the
 * reason and where they came from, so an operator can fix and re-inject them.
 */
import type { IHeaders } from 'kafkajs';
import type { ReeError } from '../errors.ts';
import type { Logger } from '../ops/logger.ts';
import { sendInChunks, type ChunkLimits, type MessageSender } from '../kafka/send-in-chunks.ts';

export interface DeadLetter {
  key: Buffer | null;
  value: Buffer | null;
  headers?: IHeaders | undefined;
  error: ReeError;
  topic: string;
  partition: number;
  offset: string;
}

export interface DeadLetterSink {
  send(letters: DeadLetter[]): Promise<void>;
}

export function deadLetterHeaders(letter: DeadLetter): IHeaders {
  return {
    ...letter.headers,
    error: letter.error.message,
    'error-code': letter.error.code,
    'source-topic': letter.topic,
    'source-partition': String(letter.partition),
    'source-offset': letter.offset,
  };
}

export function createKafkaDeadLetterSink(options: { producer: MessageSender; topic: string; chunkLimits?: ChunkLimits }): DeadLetterSink {
  return {
    async send(letters) {
      if (letters.length === 0) return;
      const messages = letters.map((l) => ({ key: l.key, value: l.value, headers: deadLetterHeaders(l) }));
      await sendInChunks(options.producer, { topic: options.topic, acks: -1, messages }, options.chunkLimits);
    },
  };
}

/**
 * A batch's dead letters, once sent, as one warning, for reports and reference data alike: one line
 * per batch, not per record (a flood of bad input must not become a flood of logs; the dead-letter
 * topic has every record with its reason), with how many of each kind, since the first reason alone
 * hid that most of a batch failed for another. An operator must see that a licence or a quota was
 * refused, or the exports judged without it look wrong for no reason.
 */
export function logDeadLetters(logger: Logger | undefined, dead: readonly DeadLetter[]): void {
  const first = dead[0];
  if (!first) return;
  const codes: Record<string, number> = {};
  for (const d of dead) codes[d.error.code] = (codes[d.error.code] ?? 0) + 1;
  logger?.warn(
    { topic: first.topic, partition: first.partition, count: dead.length, codes, firstOffset: first.offset, firstCode: first.error.code, firstReason: first.error.message },
    'records sent to the dead-letter topic',
  );
}
