/**
 * The console's own settings, on top of the detector's (brokers, registry, prefix...). Refused at
 * start with one line naming the variable, like every other setting.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { helpLine } from '../config/settings.ts';

export const MIN_TOKEN_LENGTH = 16;

const consoleSettingsSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8088),
  /** Loopback unless the operator says otherwise: the console shows enforcement data. */
  host: z.string().min(1).default('127.0.0.1'),
  token: z.string().min(MIN_TOKEN_LENGTH, `at least ${MIN_TOKEN_LENGTH} characters (e.g. openssl rand -hex 24)`),
});
export type ConsoleSettings = z.output<typeof consoleSettingsSchema>;

export const CONSOLE_SETTING_SOURCES: Record<keyof ConsoleSettings, { env: string; flag?: string; help: string }> = {
  port: { env: 'REE_CONSOLE_PORT', flag: 'port', help: 'port of the web page and API (default 8088; 0 = any free port)' },
  host: { env: 'REE_CONSOLE_HOST', flag: 'host', help: 'address to listen on (default 127.0.0.1; 0.0.0.0 for every interface)' },
  // No flag: a token on the command line shows in `ps` and shell history.
  token: { env: 'REE_CONSOLE_TOKEN', help: `the token the page and every API call must give (required, ${MIN_TOKEN_LENGTH}+ characters)` },
};

export function loadConsoleSettings(env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): ConsoleSettings {
  const raw: Record<string, unknown> = {};
  for (const [key, source] of Object.entries(CONSOLE_SETTING_SOURCES)) {
    const value = (source.flag ? flags[source.flag] : undefined) ?? env[source.env];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  if (raw.token === undefined) {
    throw new ConfigError(`REE_CONSOLE_TOKEN is not set: the console refuses to start without a token; set it to a secret of ${MIN_TOKEN_LENGTH}+ characters`);
  }
  const parsed = consoleSettingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]) as keyof ConsoleSettings;
    const source = CONSOLE_SETTING_SOURCES[key];
    const shown = key === 'token' ? '(hidden)' : JSON.stringify(raw[key]);
    throw new ConfigError(`bad setting ${source.env}${source.flag ? ` (--${source.flag})` : ''} = ${shown}: ${issue.message}`);
  }
  return parsed.data;
}

export function consoleSettingsHelp(): string {
  return Object.values(CONSOLE_SETTING_SOURCES)
    .map((s) => helpLine(s.flag ? `--${s.flag}` : '', s.env, s.help))
    .join('\n');
}
