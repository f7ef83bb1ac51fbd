/**
 * The plain producer shared by the sinks is replaced after a failed send (renewing-producer.ts):
 * kafkajs reuses a failed send's sequence numbers, and the broker would take the next send of as
 * many records for it and drop it, were it written after all.
 */
import { describe, expect, it } from 'vitest';
import type { Kafka } from 'kafkajs';
import { createRenewingProducer } from '../../src/kafka/renewing-producer.ts';

/** Producers that record their sends; `failNext` makes the next send fail, `gates` hold a send of that value until released. */
function fakeKafka() {
  const made: { id: number; sent: string[]; connected: boolean; disconnected: boolean }[] = [];
  const control = { failNext: false, failConnect: false, gates: new Map<string, Promise<void>>() };
  const kafka = {
    producer: () => {
      const p = { id: made.length, sent: [] as string[], connected: false, disconnected: false };
      made.push(p);
      return {
        connect: async () => {
          if (control.failConnect) {
            control.failConnect = false;
            throw new Error('Connection error: connect ECONNREFUSED');
          }
          p.connected = true;
        },
        disconnect: async () => void (p.disconnected = true),
        send: async (r: { messages: { value: string }[] }) => {
          if (control.failNext) {
            control.failNext = false;
            throw new Error('Request Produce(key: 0, version: 7) timed out');
          }
          await control.gates.get(r.messages[0]!.value);
          p.sent.push(...r.messages.map((m) => m.value));
          return [];
        },
      };
    },
  } as unknown as Kafka;
  return { kafka, made, control };
}

const send = (value: string) => ({ topic: 'dead', messages: [{ value }] });

describe('the renewing producer', () => {
  it('keeps one producer while its sends succeed', async () => {
    const { kafka, made } = fakeKafka();
    const producer = createRenewingProducer(kafka, { idempotent: true });
    await producer.connect();
    await producer.send(send('a'));
    await producer.send(send('b'));
    expect(made.map((p) => p.sent)).toEqual([['a', 'b']]);
  });

  it('after a failed send, sends through a new producer and closes the old one', async () => {
    const { kafka, made, control } = fakeKafka();
    const renewed: unknown[] = [];
    const producer = createRenewingProducer(kafka, { idempotent: true }, (err) => renewed.push(err));
    await producer.connect();
    control.failNext = true;
    await expect(producer.send(send('lost reply'))).rejects.toThrow(/timed out/);
    await producer.send(send('next caller'));
    expect(made.map((p) => p.sent)).toEqual([[], ['next caller']]);
    expect(made[0]!.disconnected).toBe(true);
    expect(renewed).toHaveLength(1);
    expect(producer.made).toBe(2);
    await producer.disconnect();
    expect(made[1]!.disconnected).toBe(true);
  });

  it('closes the failed producer only once the sends already on it have settled, and refuses sends once closed', async () => {
    const { kafka, made, control } = fakeKafka();
    const producer = createRenewingProducer(kafka, { idempotent: true });
    await producer.connect();
    let release!: () => void;
    control.gates.set('slow caller', new Promise<void>((resolve) => (release = resolve)));
    // A caller's send still on its way on the first producer when another caller's send fails.
    const slow = producer.send(send('slow caller'));
    await new Promise((resolve) => setImmediate(resolve));
    control.failNext = true;
    await expect(producer.send(send('lost reply'))).rejects.toThrow(/timed out/);
    expect(made[0]!.disconnected).toBe(false);
    release();
    await slow;
    expect(made[0]!.sent).toEqual(['slow caller']);
    await new Promise((resolve) => setImmediate(resolve));
    expect(made[0]!.disconnected).toBe(true);
    await producer.disconnect();
    await expect(producer.send(send('late'))).rejects.toThrow('the Kafka producer is closed');
    expect(made.every((p) => p.disconnected)).toBe(true);
  });

  it('makes a producer that could not connect again at the next call', async () => {
    const { kafka, made, control } = fakeKafka();
    const producer = createRenewingProducer(kafka, { idempotent: true });
    control.failConnect = true;
    await expect(producer.connect()).rejects.toThrow(/ECONNREFUSED/);
    await producer.connect();
    await producer.send(send('a'));
    expect(made.map((p) => p.sent)).toEqual([[], ['a']]);
  });
});
