/**
 * `ree-sentinel console`: the enforcement console. Follows the alerts topic and serves a web page
 * and JSON API where investigators watch alerts arrive, read the evidence and triage them.
 */
import { helpLine, loadSettings, settingsHelp } from '../config/settings.ts';
import { loadConsoleSettings, consoleSettingsHelp } from '../console/settings.ts';
import { startConsole } from '../console/start.ts';
import { ReeError, errorMessage } from '../errors.ts';
import { createLogger } from '../ops/logger.ts';
import { parseCommandArgs, type Options } from './args.ts';

/** run's settings the console reads: where the alerts and the status topic are, and how it joins its group. */
const SHARED_FLAGS = ['brokers', 'registry', 'prefix', 'group', 'partitions', 'replication', 'session-timeout', 'log-level'];

export const CONSOLE_USAGE = `Usage: REE_CONSOLE_TOKEN=<secret> ree-sentinel console [options]

Serves the enforcement console: a web page and a JSON API under /api/ over the alerts on
<prefix>.alerts.v1, with triage (acknowledge, assign, close as confirmed / false positive)
recorded on the compacted topic <prefix>.alert-status.v1. Every API call needs
'Authorization: Bearer <token>'; the page asks for the same token. Any number of consoles can run.

Console options (flag, environment variable, meaning):
${consoleSettingsHelp()}

Shared with run (the console reads no other of its settings):
${settingsHelp(SHARED_FLAGS)}
${helpLine('-h, --help', '', 'this help')}`;

const CONSOLE_OPTIONS: Options = Object.fromEntries(
  ['port', 'host', ...SHARED_FLAGS].map(
    (flag) => [flag, { type: 'string' as const }],
  ),
);

export async function consoleCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(argv, CONSOLE_OPTIONS, CONSOLE_USAGE);
  if (values.help) {
    console.log(CONSOLE_USAGE);
    return 0;
  }
  let logger = createLogger('info', 'ree-sentinel-console');
  try {
    const flags = values as Record<string, string | undefined>;
    const settings = loadSettings(process.env, flags);
    const consoleSettings = loadConsoleSettings(process.env, flags);
    logger = createLogger(settings.logLevel, 'ree-sentinel-console');
    const running = await startConsole(settings, consoleSettings, logger);
    const ending = await new Promise<{ signal: string } | { error: unknown }>((resolve) => {
      process.once('SIGTERM', () => resolve({ signal: 'SIGTERM' }));
      process.once('SIGINT', () => resolve({ signal: 'SIGINT' }));
      void running.failed.then((error) => resolve({ error }));
    });
    await running.stop();
    if ('error' in ending) {
      logger.fatal({ err: ending.error }, 'the alert feed stopped for good; exiting so the console can be restarted');
      return 1;
    }
    logger.info(ending, 'console stopped');
    return 0;
  } catch (err) {
    if (err instanceof ReeError) {
      logger.fatal({ code: err.code }, `ree-sentinel console: ${err.message} [${err.code}]`);
      return 2;
    }
    logger.fatal({ err }, `ree-sentinel console: ${errorMessage(err)}`);
    return 1;
  }
}
