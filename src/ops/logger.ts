/** Structured JSON logs (pino) for the long-running detector; CLI output for people goes to stdout instead. */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

/** Per logger made here: whether it and every child made from it are silenced for good (silenceAll). */
const silenced = new WeakMap<Logger, { silent: boolean }>();

/**
 * Where the JSON lines go (stderr by default): written synchronously, each line before the log call
 * returns. pino's own default destination writes asynchronously and its fatal level flushes what
 * is buffered synchronously; a line whose asynchronous write was still in flight then landed after
 * the fatal line (seen in a CI run of startup-failures.test.ts: a kafkajs connection error below
 * the fatal line that must be the last). Synchronous, the lines keep their order and none is lost
 * when the process exits; Node writes its own stderr to files and pipes synchronously on Linux
 * too, and the detector logs a few lines a minute once running.
 */
export function logDestination(fd = 2): DestinationStream {
  return pino.destination({ dest: fd, sync: true });
}

export function createLogger(level: string, name = 'ree-sentinel', destination: DestinationStream = logDestination()): Logger {
  const state = { silent: false };
  // Logs go to stderr so stdout stays free for alerts and command output. The hook is inherited by
  // child loggers, whose level a change of the parent's does not reach.
  const logger = pino(
    {
      name,
      level,
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          if (!state.silent) method.apply(this, args);
        },
      },
    },
    destination,
  );
  silenced.set(logger, state);
  return logger;
}

/**
 * Nothing more from this logger or any of its children (a client library's logger among them):
 * after the one fatal line of a failed start, which must stay the last line.
 */
export function silenceAll(logger: Logger): void {
  const state = silenced.get(logger);
  if (state) state.silent = true;
  logger.level = 'silent';
}
