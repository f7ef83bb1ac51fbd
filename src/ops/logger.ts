/** Structured JSON logs (pino) for the long-running detector; CLI output for people goes to stdout instead. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level: string, name = 'ree-sentinel'): Logger {
  // Logs go to stderr so stdout stays free for alerts and command output.
  return pino({ name, level, base: { pid: process.pid } }, pino.destination(2));
}
