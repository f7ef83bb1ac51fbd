/**
 * kafkajs's request queue with the fix (src/kafka/request-queue-fix.ts): no timer loop once a
 * response leaves nothing waiting, and a waiting request is still sent (after the broker's
 * throttling, after an in-flight request's response). The queue is kafkajs's own class; only the
 * socket is a stand-in that records what would be written.
 */
import { createRequire } from 'node:module';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { applied, CHECK_PENDING_REQUESTS_INTERVAL_MS } from '../../src/kafka/request-queue-fix.ts';

interface Queue {
  push(request: { entry: { correlationId: number; apiKey: number; apiName: string; apiVersion: number; resolve: () => void; reject: () => void }; expectResponse: boolean; sendRequest: () => void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
  pending: unknown[];
  throttleCheckTimeoutId: unknown;
}
const RequestQueue = createRequire(import.meta.url)('kafkajs/src/network/requestQueue/index.js') as new (options: object) => Queue;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

function queue(maxInFlightRequests: number | null = null): { queue: Queue; sent: number[]; request: (correlationId: number) => Parameters<Queue['push']>[0] } {
  const q = new RequestQueue({ maxInFlightRequests, requestTimeout: 30_000, enforceRequestTimeout: false, clientId: 'test', broker: 'broker:9092', logger: quiet });
  const sent: number[] = [];
  const request = (correlationId: number) => ({
    entry: { correlationId, apiKey: 3, apiName: 'Metadata', apiVersion: 6, resolve: () => undefined, reject: () => undefined },
    expectResponse: true,
    sendRequest: () => sent.push(correlationId),
  });
  return { queue: q, sent, request };
}

describe('kafkajs request queues with the fix', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is applied to kafkajs', () => {
    expect(applied).toBe(true);
  });

  it('schedules nothing once a response leaves no request waiting (kafkajs 2.2.4 looped on a 1 ms timer from here on)', () => {
    const { queue: q, sent, request } = queue();
    q.push(request(1));
    expect(sent).toEqual([1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(q.throttleCheckTimeoutId).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });

  it('sends a request that waited for the broker’s throttling once it ends, and then schedules nothing', () => {
    const { queue: q, sent, request } = queue();
    q.maybeThrottle(50);
    q.push(request(7));
    expect(sent).toEqual([]);
    expect(q.pending).toHaveLength(1);
    vi.advanceTimersByTime(49);
    expect(sent).toEqual([]);
    vi.advanceTimersByTime(CHECK_PENDING_REQUESTS_INTERVAL_MS);
    expect(sent).toEqual([7]);
    expect(q.pending).toHaveLength(0);
    q.fulfillRequest({ correlationId: 7, payload: Buffer.alloc(0), size: 0 });
    expect(vi.getTimerCount()).toBe(0);
    q.destroy();
  });

  it('sends a request that waited for an in-flight one as soon as that one is answered', () => {
    const { queue: q, sent, request } = queue(1);
    q.push(request(1));
    q.push(request(2));
    expect(sent).toEqual([1]);
    q.fulfillRequest({ correlationId: 1, payload: Buffer.alloc(0), size: 0 });
    expect(sent).toEqual([1, 2]);
    q.fulfillRequest({ correlationId: 2, payload: Buffer.alloc(0), size: 0 });
    // The look scheduled while request 2 waited runs once, finds nothing, and schedules no other.
    vi.advanceTimersByTime(CHECK_PENDING_REQUESTS_INTERVAL_MS);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(100);
    expect(sent).toEqual([1, 2]);
    q.destroy();
  });

  it('still looks again after kafkajs’s own interval when a waiting request could not go (in flight full, no answer yet)', () => {
    const { queue: q, sent, request } = queue(1);
    q.push(request(1));
    q.push(request(2));
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    vi.advanceTimersByTime(CHECK_PENDING_REQUESTS_INTERVAL_MS);
    // Still one in flight: the look sends nothing and schedules the next one.
    expect(sent).toEqual([1]);
    expect(q.throttleCheckTimeoutId).not.toBeNull();
    q.destroy();
  });
});
