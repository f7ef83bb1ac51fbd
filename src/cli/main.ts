/**
 * `ree-sentinel <command>`: one entry point, one way of reporting failure. A ReeError prints one
 * line with its code and exits 2 (user-fixable); anything else is a bug and prints its stack.
 */
import { readFileSync } from 'node:fs';
import { ReeError } from '../errors.ts';

interface Command {
  summary: string;
  load: () => Promise<(argv: string[]) => Promise<number>>;
}

const COMMANDS: Record<string, Command> = {
  run: { summary: 'run the live detector against Kafka, the schema registry and Redis', load: async () => (await import('./run.ts')).runCommand },
  replay: { summary: 'replay a recording through the detector (embedded, or against Redis)', load: async () => (await import('./replay.ts')).replayCommand },
  record: { summary: 'record live topics into a JSON Lines recording', load: async () => (await import('./record.ts')).recordCommand },
  simulate: { summary: 'generate a labelled synthetic supply chain (file or Kafka)', load: async () => (await import('./simulate.ts')).simulateCommand },
  backtest: { summary: 'precision / recall per rule against labels; compare two rule sets', load: async () => (await import('./backtest.ts')).backtestCommand },
  rules: { summary: 'rules check [file]: validate a rules file and print the effective parameters', load: async () => (await import('./rules-check.ts')).rulesCommand },
  console: { summary: 'the enforcement console: web page and API to watch, read and triage alerts', load: async () => (await import('./console.ts')).consoleCommand },
  demo: { summary: 'simulate a month, replay it embedded, show the alerts (what npm start runs)', load: async () => (await import('./demo.ts')).demoCommand },
};

export const USAGE = `Usage: ree-sentinel <command> [options]

Anomaly detection for rare-earth supply-chain reports: volume mismatches, unlicensed exports,
smuggling patterns.

Commands:
${Object.entries(COMMANDS)
  .map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  .join('\n')}

Run 'ree-sentinel <command> --help' for a command's options, 'ree-sentinel --version' for the version.`;

/** The package's version, for a bug report: package.json sits two folders up from src/cli and dist/cli alike. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** `ree-sentinel replay rec.jsonl | head` closes stdout early: the reader's choice, not a failure. */
function exitQuietlyOnClosedStdout(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    throw err;
  });
}

export async function main(argv: string[]): Promise<number> {
  exitQuietlyOnClosedStdout();
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 1;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    console.log(`ree-sentinel ${version()}`);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`ree-sentinel: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  try {
    const run = await command.load();
    return await run(rest);
  } catch (err) {
    if (err instanceof ReeError) {
      // A message may carry the command's usage after a blank line: printed first, so the line
      // that says what is wrong, with its code, comes last, where the terminal leaves the eye.
      const [mistake, ...rest] = err.message.split('\n\n');
      if (rest.length > 0) console.error(`${rest.join('\n\n')}\n`);
      console.error(`ree-sentinel ${name}: ${mistake!.trim()} [${err.code}]`);
      return 2;
    }
    console.error(err);
    return 1;
  }
}
