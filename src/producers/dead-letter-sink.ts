/**
 * Bad input is never dropped: the original key and bytes go to the dead-letter topic with the
 * reason and where they came from, so an operator can fix and re-inject them.
 */
import type { IHeaders } from 'kafkajs';
import type { ReeError } from '../errors.ts';
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
