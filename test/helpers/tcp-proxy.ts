/**
 * A TCP relay in front of a real service, which a test can cut and restore to stage an outage of
 * that service without touching the service itself (it is shared with other tests and people).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  /** Drops every connection and refuses new ones, as a dead service would. */
  cut(): Promise<void>;
  /** Accepts connections again, on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

export interface TcpProxyOptions {
  /**
   * Whether what a client sent goes on to the service (`connection` counts from 1 in the order
   * clients connected); without it everything is relayed. A chunk held back is dropped for good
   * while the socket stays open: a request the service never sees or answers.
   */
  forward?: (connection: number, chunk: Buffer) => boolean;
}

export async function startTcpProxy(target: { host: string; port: number }, options: TcpProxyOptions = {}): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  let connections = 0;
  const listen = async () => {
    server = createServer((client) => {
      const connection = ++connections;
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      upstream.pipe(client);
      const { forward } = options;
      if (!forward) {
        client.pipe(upstream);
        return;
      }
      client.on('data', (chunk: Buffer) => {
        if (forward(connection, chunk)) upstream.write(chunk);
      });
      client.on('end', () => upstream.end());
    });
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  };
  const cut = async () => {
    const closing = new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    for (const s of sockets) s.destroy();
    await closing;
    server = undefined;
  };
  await listen();
  return {
    port,
    cut,
    restore: listen,
    close: cut,
  };
}
