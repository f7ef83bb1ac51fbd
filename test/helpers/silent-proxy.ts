/**
 * A TCP relay in front of an HTTP service whose first connection goes silent after carrying a
 * given number of requests: what follows on it is read and dropped, never forwarded and never
 * answered, while the socket stays open. That is the hang a client without request deadlines waits
 * on for good. Later connections are relayed as they are.
 */
import { connect, createServer, type Socket } from 'node:net';

export interface SilentProxy {
  /** The proxy's URL with the target's path, e.g. http://127.0.0.1:PORT/apis/ccompat/v7. */
  url: string;
  /** Requests that reached the silent connection after it went quiet (never answered). */
  swallowed(): number;
  close(): Promise<void>;
}

/** Counts request lines in what a client sent; enough for the small requests of a registry client. */
const requestLines = (chunk: Buffer) => chunk.toString('latin1').match(/^[A-Z]+ \S+ HTTP\/1\.1\r$/gm)?.length ?? 0;

export async function startSilentProxy(target: URL, options: { answeredFirst: number }): Promise<SilentProxy> {
  const sockets = new Set<Socket>();
  let connections = 0;
  let swallowed = 0;
  const server = createServer((client) => {
    connections += 1;
    const goesSilent = connections === 1;
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    upstream.pipe(client);
    let seen = 0;
    client.on('data', (chunk: Buffer) => {
      const before = seen;
      seen += requestLines(chunk);
      if (!goesSilent || seen <= options.answeredFirst) {
        upstream.write(chunk);
      } else {
        // The request that crosses the limit and everything after it vanish.
        swallowed += seen - Math.max(before, options.answeredFirst);
      }
    });
    client.on('end', () => upstream.end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}${target.pathname.replace(/\/$/, '')}`,
    swallowed: () => swallowed,
    async close() {
      const closed = new Promise((resolve) => server.close(resolve));
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
