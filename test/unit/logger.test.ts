import { closeSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger, logDestination, silenceAll } from '../../src/ops/logger.ts';

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

describe('the log destination', () => {
  it('has every line written, in order, when the log call returns, the fatal line included', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ree-log-')), 'stderr.log');
    const fd = openSync(file, 'w');
    try {
      const logger = createLogger('info', 'ree-sentinel', logDestination(fd));
      // An asynchronous destination would still be writing the first line here, holding the
      // second; a fatal line would then be flushed before the first landed.
      logger.error('connection refused');
      logger.error('connection refused, again');
      logger.fatal('cannot reach Kafka');
      const lines = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string });
      expect(lines.map((l) => [l.level, l.msg])).toEqual([
        [50, 'connection refused'],
        [50, 'connection refused, again'],
        [60, 'cannot reach Kafka'],
      ]);
    } finally {
      closeSync(fd);
    }
  });
});
