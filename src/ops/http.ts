/**
 * /healthz (liveness: the process answers), /readyz (readiness: every dependency reachable and the
 * consumers running; the body says what is missing), /metrics (Prometheus). Liveness stays apart
 * from readiness on purpose: a Redis or broker outage is waited out, not cured by a restart.
 */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { ReeError } from '../errors.ts';

export interface OpsServer {
  port: number;
  close(): Promise<void>;
}

export interface OpsServerOptions {
  port: number;
  registry: Registry;
  /** What keeps the detector from being ready; empty when it is. */
  notReady: () => string[];
  host?: string;
  /** How a user changes the port, for the message when it is taken. */
  portSetting?: string;
}

export async function startOpsServer(options: OpsServerOptions): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const missing = options.notReady();
      res.writeHead(missing.length === 0 ? 200 : 503, { 'content-type': 'text/plain' }).end(missing.length === 0 ? 'ready\n' : `not ready: ${missing.join('; ')}\n`);
    } else if (path === '/metrics') {
      options.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': options.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz, /metrics\n');
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const setting = options.portSetting ?? 'the port';
      const why = err.code === 'EADDRINUSE' ? 'it is in use by another process' : err.code === 'EACCES' ? 'this user may not listen on it' : err.message;
      reject(new ReeError('REE_ERR_CONFIG', `cannot serve /healthz, /readyz, /metrics on port ${options.port}: ${why}; choose another with ${setting} (0 turns the server off)`));
    });
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : options.port,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        // A scraper's keep-alive connection must not hold the shutdown up.
        server.closeAllConnections();
      }),
  };
}
