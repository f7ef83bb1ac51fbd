/** The project's logger writing its JSON lines into a list the test reads, instead of stderr. */
import { createLogger, type Logger } from '../../src/ops/logger.ts';

export function capturingLogger(level = 'info'): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger(level, 'test', { write: (chunk: string) => void lines.push(JSON.parse(chunk) as Record<string, unknown>) });
  return { logger, lines };
}
