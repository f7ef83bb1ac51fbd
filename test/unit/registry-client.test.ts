/**
 * The registry client's deadline and retries against a local HTTP server standing in for the
 * registry: a request left unanswered is given up and made again on a new connection, answers are
 * not retried, and a registry that is not there fails with its own reason once the retries run out.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createRegistryClient, isTransientRegistryFailure, RegistryUnreachableError, withoutFakeStatus } from '../../src/codec/registry-client.ts';
import { freePort } from '../helpers/ports.ts';

const SCHEMA = JSON.stringify({ type: 'record', name: 'T', fields: [{ name: 'a', type: 'string' }] });

/** Answers each request with `answer(n)` (n counts from 1); 'silent' leaves it unanswered, its connection open. */
async function fakeRegistry(answer: (n: number) => number | 'silent') {
  const sockets = new Set<Socket>();
  const connections = new Set<Socket>();
  let requests = 0;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    requests += 1;
    connections.add(req.socket);
    const status = answer(requests);
    if (status === 'silent') return;
    res.writeHead(status, { 'content-type': 'application/vnd.schemaregistry.v1+json' });
    res.end(status === 200 ? JSON.stringify({ schema: SCHEMA }) : JSON.stringify({ error_code: status * 100, message: `status ${status}` }));
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests: () => requests,
    connections: () => connections.size,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('the schema registry client', () => {
  const servers: { close(): Promise<void> }[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => s.close()));
  });

  it('gives up a request left unanswered and makes it again on another connection', async () => {
    const registry = await fakeRegistry((n) => (n === 1 ? 'silent' : 200));
    servers.push(registry);
    const client = createRegistryClient(registry.url, { requestTimeoutMs: 200, retryForMs: 5_000 });
    const schema = await client.getSchema(1);
    expect(schema.toBuffer({ a: 'x' })).toBeInstanceOf(Buffer);
    expect(registry.requests()).toBe(2);
    expect(registry.connections()).toBe(2);
  });

  it('retries a server error and takes a 404 as the answer', async () => {
    const flaky = await fakeRegistry((n) => (n === 1 ? 503 : 200));
    const missing = await fakeRegistry(() => 404);
    servers.push(flaky, missing);
    await expect(createRegistryClient(flaky.url, { retryForMs: 5_000 }).getSchema(1)).resolves.toBeDefined();
    expect(flaky.requests()).toBeGreaterThanOrEqual(2);
    await expect(createRegistryClient(missing.url, { retryForMs: 5_000 }).getSchema(7)).rejects.toMatchObject({ status: 404 });
    expect(missing.requests()).toBe(1);
  });

  it('fails with the reason once a registry that is not there has been retried for long enough', async () => {
    const client = createRegistryClient(`http://127.0.0.1:${await freePort()}`, { requestTimeoutMs: 200, retryForMs: 300 });
    const failure = await client.getSchema(1).catch((err: unknown) => err);
    expect(String((failure as Error).message)).toMatch(/ECONNREFUSED/);
    // A network error, not an HTTP answer: no "status 400" in what an operator reads.
    expect(failure).toBeInstanceOf(RegistryUnreachableError);
    expect((failure as Error).message).toMatch(/^connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
    // Still a failure that may pass, for the decoder and the encoder as for the retries.
    expect(isTransientRegistryFailure(failure)).toBe(true);
  });

  it('reports a registry that never answers as no answer, not as a status', async () => {
    const registry = await fakeRegistry(() => 'silent');
    servers.push(registry);
    const failure = await createRegistryClient(registry.url, { requestTimeoutMs: 100, retryForMs: 150 })
      .getSchema(1)
      .catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(RegistryUnreachableError);
    expect((failure as Error).message).toBe('no answer within 0.1 s');
  });

  it('leaves real answers as they are, a 400 among them', () => {
    const answer = Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: {"broken":true}'), { status: 400 });
    expect(withoutFakeStatus(answer)).toBe(answer);
    const conflict = Object.assign(new Error('Confluent_Schema_Registry - Schema being registered is incompatible'), { status: 409 });
    expect(withoutFakeStatus(conflict)).toBe(conflict);
    const reset = Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: socket hang up'), { status: 400 });
    expect(withoutFakeStatus(reset)).toMatchObject({ name: 'RegistryUnreachableError', message: 'socket hang up', status: 400 });
    const unknownHost = Object.assign(new Error('Confluent_Schema_Registry - Error, status 400: getaddrinfo ENOTFOUND registry'), { status: 400 });
    expect(withoutFakeStatus(unknownHost)).toMatchObject({ message: 'getaddrinfo ENOTFOUND registry' });
  });

  it('tells failures that may pass from answers', () => {
    for (const status of [400, 408, 429, 500, 502, 503]) expect(isTransientRegistryFailure({ status })).toBe(true);
    for (const status of [401, 403, 404, 409, 422]) expect(isTransientRegistryFailure({ status })).toBe(false);
    // The library's own refusal (a subject with another compatibility level) has no status.
    expect(isTransientRegistryFailure(new Error('Compatibility does not match the configuration'))).toBe(false);
  });
});
