/**
 * Redis: machines of this project's kind already run one on 6379, so normally this only checks it.
 * When none answers, a throwaway one is started (nothing persisted), installing Debian's
 * redis-server first if the binary is missing and we are allowed to.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnDetached } from './process.ts';
import type { StackSettings } from './settings.ts';
import type { Started } from './kafka.ts';

export function redisPaths(settings: StackSettings) {
  return {
    logFile: join(settings.logsDir, 'redis.log'),
    pidFile: join(settings.runDir, 'redis.pid'),
  };
}

function hasBinary(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

function installRedis(): void {
  if (process.getuid?.() !== 0) {
    throw new Error('redis-server is not installed and this is not root; install it (apt-get install redis-server)');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'], { env, encoding: 'utf8' });
  let result = install();
  if (result.status !== 0) {
    // A fresh machine may have no package lists yet.
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    result = install();
  }
  if (result.status !== 0 || !hasBinary('redis-server')) {
    throw new Error(`installing redis-server failed:\n${result.stderr ?? ''}`);
  }
}

export function startRedis(settings: StackSettings): Started {
  if (!hasBinary('redis-server')) installRedis();
  const paths = redisPaths(settings);
  mkdirSync(settings.redis.dir, { recursive: true });
  // Not --daemonize: spawning it detached ourselves gives us its pid directly and the same effect.
  const pid = spawnDetached(
    'redis-server',
    [
      '--port',
      String(settings.redis.port),
      '--bind',
      settings.host,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      settings.redis.dir,
    ],
    { cwd: settings.redis.dir, logFile: paths.logFile },
  );
  // redis-server rewrites its process title to "redis-server host:port".
  return { pid, match: `redis-server ${settings.host}:${settings.redis.port}`, logFile: paths.logFile };
}

export async function redisAnswers(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}
