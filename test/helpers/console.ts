/** Starts a real console (real Kafka, registry) on a test's own topics, and talks to its API. */
import { randomBytes } from 'node:crypto';
import { loadSettings, type Settings } from '../../src/config/settings.ts';
import { startConsole, type RunningConsole } from '../../src/console/start.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { KAFKA_BROKERS, REDIS_URL, SCHEMA_REGISTRY_URL, waitUntil } from './stack-env.ts';

export const newToken = () => randomBytes(24).toString('hex');

export function consoleTestSettings(prefix: string, extra: Record<string, string> = {}): Settings {
  return loadSettings(
    { KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL },
    { prefix, group: `${prefix}-group`, 'state-prefix': prefix, 'http-port': '0', partitions: '2', 'log-level': 'warn', ...extra },
  );
}

export function startTestConsole(settings: Settings, token: string, port = 0): Promise<RunningConsole> {
  return startConsole(settings, { host: '127.0.0.1', port, token }, createLogger('warn'));
}

export interface ApiAnswer {
  status: number;
  body: any;
}

export function consoleApi(baseUrl: string, token: string) {
  return async (path: string, init: { method?: string; body?: unknown; rawBody?: string; token?: string } = {}): Promise<ApiAnswer> => {
    const headers: Record<string, string> = { authorization: `Bearer ${init.token ?? token}` };
    let body: string | undefined;
    if (init.rawBody !== undefined || init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = init.rawBody ?? JSON.stringify(init.body);
    }
    const res = await fetch(new URL(path, baseUrl), { method: init.method ?? 'GET', headers, body });
    const text = await res.text();
    // The labels export is JSON Lines: only a JSON answer is parsed.
    const isJson = res.headers.get('content-type')?.startsWith('application/json') ?? false;
    return { status: res.status, body: isJson ? JSON.parse(text) : text };
  };
}

/** Polls the console until the alerts list satisfies the check (the feed is asynchronous). */
export async function waitForAlerts(api: ReturnType<typeof consoleApi>, query: string, check: (body: any) => boolean, timeoutMs = 30_000): Promise<any> {
  let last: any;
  await waitUntil(
    async () => {
      last = (await api(`/api/alerts?${query}`)).body;
      return check(last);
    },
    { timeoutMs, intervalMs: 200, what: `alerts matching ${query} (last answer: ${JSON.stringify(last)?.slice(0, 300)})` },
  );
  return last;
}
