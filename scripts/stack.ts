/**
 * `npm run stack:up|stack:down|stack:status`: the real Kafka, schema registry and Redis on this
 * machine, without Docker. See scripts/stack/ for how each is run.
 */
import {
  loadSettings,
  SETTINGS_HELP,
  stackDown,
  StackStartError,
  stackStatus,
  stackUp,
  type StackSettings,
} from './stack/index.ts';

const COMMANDS = {
  up: 'start whatever is not running yet, wait until each answers, create the ree.* topics',
  down: 'stop the services that `up` started (pid files in <stack dir>/run); leave others alone',
  status: 'show which services answer, where, and whether `up` started them (exit 1 if any is down)',
} as const;
type Command = keyof typeof COMMANDS;

function usage(command?: Command): string {
  const head = command
    ? `Usage: npm run stack:${command} [-- --help]\n\n  ${COMMANDS[command]}\n`
    : `Usage: tsx scripts/stack.ts <${Object.keys(COMMANDS).join('|')}> [--help]\n\n` +
      Object.entries(COMMANDS)
        .map(([name, text]) => `  ${name.padEnd(7)} ${text}`)
        .join('\n') +
      '\n';
  const width = Math.max(...SETTINGS_HELP.map(([name]) => name.length));
  const env = SETTINGS_HELP.map(([name, text]) => `  ${name.padEnd(width)}  ${text}`).join('\n');
  return `${head}\nSettings (environment variables):\n${env}\n`;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows.map((row) => row.map((cell, col) => cell.padEnd(widths[col]!)).join('  ').trimEnd()).join('\n');
}

async function printStatus(settings: StackSettings): Promise<boolean> {
  const status = await stackStatus(settings);
  const rows = [['SERVICE', 'STATE', 'ADDRESS', 'STARTED BY']];
  for (const s of status) {
    const by = s.pid ? `${s.temporary ? 'a test run' : 'stack:up'} (pid ${s.pid})` : s.up ? 'someone else' : '-';
    rows.push([s.label, s.up ? 'up' : 'down', s.address, by]);
  }
  console.log(table(rows));
  return status.every((s) => s.up);
}

async function run(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    console.log(usage());
    return command ? 0 : 2;
  }
  if (!(command in COMMANDS)) {
    console.error(`Unknown command "${command}".\n\n${usage()}`);
    return 2;
  }
  const cmd = command as Command;
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(usage(cmd));
    return 0;
  }
  if (rest.length > 0) {
    console.error(`Unexpected arguments: ${rest.join(' ')}\n\n${usage(cmd)}`);
    return 2;
  }

  const settings = loadSettings();
  switch (cmd) {
    case 'up': {
      try {
        const result = await stackUp(settings, { log: (line) => console.log(line) });
        if (result.started.length === 0) console.log('Everything was already running.');
        console.log('');
        await printStatus(settings);
        console.log(`\nReady in ${(result.elapsedMs / 1000).toFixed(1)} s. Logs: ${settings.logsDir}`);
        return 0;
      } catch (error) {
        console.error(`\nstack:up failed: ${error instanceof Error ? error.message : String(error)}`);
        if (error instanceof StackStartError && error.started.length > 0) {
          console.error(`\nStill running from this attempt: ${error.started.join(', ')} (npm run stack:down stops them).`);
        }
        return 1;
      }
    }
    case 'down':
      await stackDown(settings, { log: (line) => console.log(line) });
      return 0;
    case 'status':
      // Exit 1 when something is down, so scripts can use it as a check.
      return (await printStatus(settings)) ? 0 : 1;
  }
}

process.exitCode = await run(process.argv.slice(2));
