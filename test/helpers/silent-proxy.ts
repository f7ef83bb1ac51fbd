/**
 * A TCP relay in front of an HTTP service whose first connection goes silent after carrying a
 * given number of requests: what follows on it is read and dropped, never forwarded and never
 * answered, while the socket stays open. That is the hang a client without request deadlines waits
 * on for good. Later connections are relayed as they are.
 */
import { startTcpProxy } from './tcp-proxy.ts';

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
  let seen = 0;
  let swallowed = 0;
  const proxy = await startTcpProxy(
    { host: target.hostname, port: Number(target.port) },
    {
      forward(connection, chunk) {
        if (connection !== 1) return true;
        const before = seen;
        seen += requestLines(chunk);
        if (seen <= options.answeredFirst) return true;
        // The request that crosses the limit and everything after it vanish.
        swallowed += seen - Math.max(before, options.answeredFirst);
        return false;
      },
    },
  );
  return {
    url: `http://127.0.0.1:${proxy.port}${target.pathname.replace(/\/$/, '')}`,
    swallowed: () => swallowed,
    close: () => proxy.close(),
  };
}
