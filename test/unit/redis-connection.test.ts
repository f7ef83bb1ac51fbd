/**
 * A Redis client that cannot connect says why: the connect error itself, not ioredis's bare
 * "Connection is closed.".
 */
import { describe, expect, it } from 'vitest';
import { connectFailure, createRedisClient } from '../../src/state/redis-client.ts';
import { closeRedis } from '../../src/state/redis-connection.ts';
import { createLogger } from '../../src/ops/logger.ts';
import { capturingLogger } from '../helpers/capturing-logger.ts';
import { freePort } from '../helpers/ports.ts';

describe('the Redis client', () => {
  it('rejects connect() with the connection error when nothing listens', async () => {
    const port = await freePort();
    const redis = createRedisClient(`redis://127.0.0.1:${port}`, createLogger('silent'));
    try {
      const failure = await redis.connect().then(
        () => expect.fail('connected to a port nothing listens on'),
        (err: unknown) => err,
      );
      expect((failure as Error).message).toBe(`connect ECONNREFUSED 127.0.0.1:${port}`);
    } finally {
      await closeRedis(redis);
    }
  });

  it('logs no "reconnecting" warning for a first connect that fails: the start-up refuses with that error instead', async () => {
    const port = await freePort();
    const { logger, lines } = capturingLogger();
    const redis = createRedisClient(`redis://127.0.0.1:${port}`, logger);
    try {
      await expect(redis.connect()).rejects.toThrow('ECONNREFUSED');
      expect(lines.filter((l) => Number(l['level']) >= 40)).toEqual([]);
    } finally {
      await closeRedis(redis);
    }
  });

  it('replaces only the bare close message, and only with an error seen', () => {
    const closed = new Error('Connection is closed.');
    const refused = new Error('connect ECONNREFUSED 127.0.0.1:1');
    expect(connectFailure(closed, refused)).toBe(refused);
    expect(connectFailure(closed, undefined)).toBe(closed);
    const other = new Error('Redis is already connecting/connected');
    expect(connectFailure(other, refused)).toBe(other);
  });
});
