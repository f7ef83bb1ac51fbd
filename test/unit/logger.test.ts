import { describe, expect, it } from 'vitest';
import { createLogger, silenceAll } from '../../src/ops/logger.ts';

describe('silenceAll', () => {
  it('silences the logger and the children made from it before, so the fatal line stays the last', () => {
    const lines: { level: number; msg: string; logger?: string }[] = [];
    const logger = createLogger('info', 'ree-sentinel', { write: (line: string) => void lines.push(JSON.parse(line)) });
    const kafkaLines = logger.child({ logger: 'kafkajs' });
    kafkaLines.error('connection refused');
    logger.fatal('cannot reach Kafka');
    silenceAll(logger);
    kafkaLines.error('connection refused, again');
    logger.error('after the end');
    logger.child({ logger: 'late' }).error('a child made after');
    expect(lines.map((l) => [l.level, l.msg])).toEqual([
      [50, 'connection refused'],
      [60, 'cannot reach Kafka'],
    ]);
  });
});
