/**
 * The console's web server: the page (plain HTML/JS/CSS from ./web) and the JSON API under /api/,
 * every API call behind the bearer token. Request input is validated; a bad request gets a 4xx
 * naming what is wrong, and nothing a client sends can bring the process down.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Mutex } from 'async-mutex';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import type { AlertIndex } from './alert-index.ts';
import { alertQuerySchema, describeIssue } from './alert-query.ts';
import { applyTriage, triageRequestSchema } from './alert-status.ts';
import type { AlertFeed, FeedEvent } from './alert-feed.ts';
import { createTokenCheck } from './auth.ts';
import type { ReportCatalogue } from './report-catalogue.ts';
import type { StatusLog } from './status-log.ts';

export interface ConsoleServerDeps {
  index: AlertIndex;
  reports: ReportCatalogue;
  feed: AlertFeed;
  statusLog: StatusLog;
  token: string;
  /** Wall-clock of triage actions; tests pin it. */
  now?: () => number;
}

const WEB_DIR = new URL('./web/', import.meta.url);
const ASSETS: Record<string, string> = { '/': 'index.html', '/app.js': 'app.js', '/app.css': 'app.css' };
/** The page itself holds no data: it asks for the token before it shows anything. */
const PUBLIC_ROUTES = new Set([...Object.keys(ASSETS), '/favicon.ico']);
const CONTENT_TYPES: Record<string, string> = { html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' };

/**
 * Report fields are rendered as text by the page; the policy is the second line of defence: no
 * inline script, nothing from elsewhere, so an injected tag has nothing to run.
 */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/** A slow event-stream reader is dropped (the page reconnects) rather than buffered without end. */
const MAX_STREAM_BUFFER_BYTES = 1 << 20;
const STREAM_KEEPALIVE_MS = 15_000;

const alertIdParams = z.object({ id: z.string().min(1).max(200) });

function badRequest(reply: FastifyReply, message: string) {
  return reply.code(400).send({ error: message });
}

export function buildConsoleServer(deps: ConsoleServerDeps): FastifyInstance {
  const now = deps.now ?? Date.now;
  const tokenMatches = createTokenCheck(deps.token);
  // Event streams never go idle; without forcing, a shutdown would wait for every open page.
  const app = Fastify({ logger: false, bodyLimit: 16 * 1024, return503OnClosing: true, forceCloseConnections: true });
  const assets = new Map(Object.entries(ASSETS).map(([path, file]) => [path, readFileSync(new URL(file, WEB_DIR), 'utf8')]));

  app.addHook('onSend', async (_request, reply) => {
    reply.headers(SECURITY_HEADERS);
  });

  // Decided on the route that matched, not the raw URL (which may spell /api/ as /%61pi/), and
  // closed by default: only the page's own files are served without the token.
  app.addHook('onRequest', async (request, reply) => {
    if (PUBLIC_ROUTES.has(request.routeOptions.url ?? '')) return;
    if (!tokenMatches(request.headers.authorization)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'missing or wrong token: send Authorization: Bearer <REE_CONSOLE_TOKEN>' });
    }
  });

  app.setErrorHandler((error: { statusCode?: number; message: string }, _request, reply) => {
    const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 500;
    return reply.code(status).send({ error: status === 500 ? 'internal error' : error.message });
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send({ error: `no such route: ${request.method} ${request.url.split('?')[0]}` }));

  for (const [path, body] of assets) {
    const type = CONTENT_TYPES[ASSETS[path]!.split('.').pop()!]!;
    app.get(path, async (_request, reply) => reply.type(type).send(body));
  }

  // Browsers ask for it on every page; a 404 would only fill their consoles.
  app.get('/favicon.ico', async (_request, reply) => reply.code(204).send());

  app.get('/api/alerts', async (request, reply) => {
    const query = alertQuerySchema.safeParse(request.query);
    if (!query.success) return badRequest(reply, describeIssue(query.error));
    return deps.index.query(query.data);
  });

  app.get('/api/alerts/:id', async (request, reply) => {
    const params = alertIdParams.safeParse(request.params);
    if (!params.success) return badRequest(reply, describeIssue(params.error));
    const found = deps.index.get(params.data.id);
    if (!found) return reply.code(404).send({ error: `no alert ${params.data.id}` });
    const a = found.alert;
    return {
      alert: deps.index.row(a.alertId),
      revisions: found.revisions,
      status: found.status,
      /** Every report any revision named; null fields when the console has not read that report. */
      reports: [...new Set(found.revisions.flatMap((r) => r.subjectEventIds))].map((id) => deps.reports.get(id) ?? { reportId: id, kind: null, producerId: null, occurredAt: null, fields: {} }),
      related: {
        producer: deps.index.relatedCount('producerId', a.producerId),
        client: a.clientId ? deps.index.relatedCount('clientId', a.clientId) : null,
        licence: a.licenceId ? deps.index.relatedCount('licenceId', a.licenceId) : null,
      },
    };
  });

  app.get('/api/alerts/:id/status', async (request, reply) => {
    const params = alertIdParams.safeParse(request.params);
    if (!params.success) return badRequest(reply, describeIssue(params.error));
    if (!deps.index.get(params.data.id)) return reply.code(404).send({ error: `no alert ${params.data.id}` });
    return deps.index.statusOf(params.data.id);
  });

  // Read → publish → set must not interleave for one alert, or two requests both build on the same
  // history and the later write drops the other's change. One lock per alert being triaged, dropped
  // when nobody waits on it, so the map does not grow with every alert ever touched.
  const locks = new Map<string, { mutex: Mutex; users: number }>();
  async function oneAtATime<T>(alertId: string, work: () => Promise<T>): Promise<T> {
    let lock = locks.get(alertId);
    if (!lock) locks.set(alertId, (lock = { mutex: new Mutex(), users: 0 }));
    lock.users += 1;
    try {
      return await lock.mutex.runExclusive(work);
    } finally {
      lock.users -= 1;
      if (lock.users === 0) locks.delete(alertId);
    }
  }

  app.post('/api/alerts/:id/triage', async (request, reply) => {
    const params = alertIdParams.safeParse(request.params);
    if (!params.success) return badRequest(reply, describeIssue(params.error));
    const body = triageRequestSchema.safeParse(request.body);
    if (!body.success) return badRequest(reply, describeIssue(body.error));
    const alertId = params.data.id;
    if (!deps.index.get(alertId)) return reply.code(404).send({ error: `no alert ${alertId}` });
    return oneAtATime(alertId, async () => {
      const current = deps.index.statusOf(alertId);
      const last = current.changes.at(-1);
      // Optimistic check: someone (here or on another console) changed the alert after the page read it.
      if (body.data.lastChangeId !== undefined && body.data.lastChangeId !== (last?.changeId ?? null)) {
        const since = last ? `; the latest is ${last.action} by ${last.by}, now ${current.status}${current.assignee ? ` (assigned to ${current.assignee})` : ''}` : '';
        return reply.code(409).send({ error: `alert ${alertId} was changed since you loaded it${since}: reload it and try again`, status: current });
      }
      const { lastChangeId: _seen, ...triage } = body.data;
      const next = applyTriage(current, triage, now(), randomUUID());
      // Durable first: the change is real once the compacted topic has it.
      await deps.statusLog.publish(next);
      deps.index.setStatus(next);
      const row = deps.index.row(alertId)!;
      deps.feed.announce({ type: 'status', row });
      return next;
    });
  });

  app.get('/api/rates', async () => ({ rules: deps.index.rates() }));

  app.get('/api/verdicts/labels', async (_request, reply) => {
    const lines = deps.index.confirmedLabels().map((label) => `${JSON.stringify(label)}\n`);
    return reply.type('application/x-ndjson; charset=utf-8').header('content-disposition', 'attachment; filename="verdict-labels.jsonl"').send(lines.join(''));
  });

  app.get('/api/stream', (request, reply) => {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', ...SECURITY_HEADERS });
    raw.write(': connected\n\n');
    const send = (event: FeedEvent) => {
      if (raw.writableLength > MAX_STREAM_BUFFER_BYTES) {
        raw.destroy();
        return;
      }
      raw.write(`event: ${event.type}\ndata: ${JSON.stringify(event.row)}\n\n`);
    };
    const unsubscribe = deps.feed.subscribe(send);
    const keepalive = setInterval(() => raw.write(': keep-alive\n\n'), STREAM_KEEPALIVE_MS);
    request.raw.on('close', () => {
      clearInterval(keepalive);
      unsubscribe();
    });
  });

  return app;
}

/** Listens, turning a taken port into a message that says which setting to change. */
export async function listen(app: FastifyInstance, host: string, port: number): Promise<number> {
  try {
    await app.listen({ host, port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'EADDRINUSE' ? 'it is in use by another process' : code === 'EACCES' ? 'this user may not listen on it' : (err as Error).message;
    throw new ConfigError(`cannot serve the console on ${host}:${port}: ${why}; choose another with REE_CONSOLE_PORT (--port) or REE_CONSOLE_HOST (--host)`);
  }
  const address = app.server.address();
  return typeof address === 'object' && address ? address.port : port;
}
