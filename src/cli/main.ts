/**
 * `ree-sentinel <command>`: one entry point, one way of reporting failure. A ReeError prints one
 * line with its code and exits 2 (user-fixable); anything else is a bug and prints its stack.
 */
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

Run 'ree-sentinel <command> --help' for a command's options.`;

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
      console.error(`ree-sentinel ${name}: ${err.message} [${err.code}]`);
      return 2;
    }
    console.error(err);
    return 1;
  }
}
