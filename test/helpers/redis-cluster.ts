/**
 * A throwaway Redis Cluster for tests: N masters on loopback (random free ports, a temporary
 * directory, no persistence), joined with `redis-cli --cluster create`. Every step has a deadline
 * and fails with what went wrong and the node's log; stop() kills the nodes and removes the files.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { afterAll, beforeAll } from 'vitest';

const run = promisify(execFile);

export interface RedisClusterHandle {
  nodes: { host: string; port: number }[];
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  /** Deadline for the whole start-up. */
  timeoutMs?: number;
  redisServer?: string;
  redisCli?: string;
}

const HOST = '127.0.0.1';
/** A node also listens on port + 10000 for the cluster bus, so ports stay below 55536. */
const BUS_PORT_OFFSET = 10_000;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, HOST, () => server.close(() => resolve(true)));
  });
}

async function freeNodePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 35_000);
    if (ports.includes(port) || ports.includes(port + BUS_PORT_OFFSET) || ports.some((p) => p + BUS_PORT_OFFSET === port)) continue;
    if ((await canListen(port)) && (await canListen(port + BUS_PORT_OFFSET))) ports.push(port);
  }
  if (ports.length < count) throw new Error(`redis-cluster: found only ${ports.length} of ${count} free port pairs on ${HOST}`);
  return ports;
}

async function assertBinary(binary: string): Promise<void> {
  try {
    await run(binary, ['--version'], { timeout: 5_000 });
  } catch (err) {
    throw new Error(`redis-cluster: cannot run ${binary} (${(err as Error).message}); install Redis 7 (redis-server and redis-cli on PATH)`);
  }
}

async function logTail(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function untilDeadline<T>(what: string, deadline: number, attempt: () => Promise<T | undefined>, describeFailure: () => Promise<string>): Promise<T> {
  let lastError = '';
  while (Date.now() < deadline) {
    try {
      const value = await attempt();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`redis-cluster: timed out waiting for ${what}${lastError ? ` (last error: ${lastError})` : ''}\n${await describeFailure()}`);
}

async function withNode<T>(port: number, use: (node: Redis) => Promise<T>): Promise<T> {
  const node = new Redis({ host: HOST, port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: 1_000 });
  // A node still starting refuses connections; connect() rejects with that, the event adds nothing.
  node.on('error', () => {});
  try {
    await node.connect();
    return await use(node);
  } finally {
    node.disconnect();
  }
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const done = await Promise.race([exited.then(() => true), sleep(3_000).then(() => false)]);
  if (!done) {
    child.kill('SIGKILL');
    await exited;
  }
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  const redisServer = options.redisServer ?? 'redis-server';
  const redisCli = options.redisCli ?? 'redis-cli';
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  if (masters < 3) throw new Error('redis-cluster: redis-cli --cluster create needs at least 3 masters');

  await Promise.all([assertBinary(redisServer), assertBinary(redisCli)]);
  const dir = await mkdtemp(join(tmpdir(), 'ree-redis-cluster-'));
  const children: ChildProcess[] = [];
  // If the test process dies without afterAll, the nodes must not outlive it.
  const killOnExit = () => children.forEach((c) => c.kill('SIGKILL'));
  process.once('exit', killOnExit);
  const stop = async () => {
    process.removeListener('exit', killOnExit);
    await Promise.all(children.map(stopProcess));
    await rm(dir, { recursive: true, force: true });
  };

  try {
    const ports = await freeNodePorts(masters);
    const logOf = (port: number) => join(dir, `node-${port}.log`);
    const logs = async () => (await Promise.all(ports.map(async (p) => `--- node ${p} log ---\n${await logTail(logOf(p))}`))).join('\n');

    for (const port of ports) {
      const child = spawn(
        redisServer,
        [
          '--port', String(port),
          '--bind', HOST,
          '--cluster-enabled', 'yes',
          '--cluster-config-file', join(dir, `nodes-${port}.conf`),
          '--cluster-node-timeout', '5000',
          '--save', '',
          '--appendonly', 'no',
          '--dir', dir,
          '--logfile', logOf(port),
          '--daemonize', 'no',
        ],
        { stdio: 'ignore' },
      );
      children.push(child);
      child.once('error', () => {}); // a spawn failure shows as an exit code below
    }

    await untilDeadline('every node to answer PING', deadline, async () => {
      const dead = children.find((c) => c.exitCode !== null);
      if (dead) throw new Error(`a redis-server exited with code ${dead.exitCode}`);
      await Promise.all(ports.map((port) => withNode(port, (n) => n.ping())));
      return true;
    }, logs);

    try {
      await run(redisCli, ['--cluster', 'create', ...ports.map((p) => `${HOST}:${p}`), '--cluster-replicas', '0', '--cluster-yes'], {
        timeout: Math.max(1_000, deadline - Date.now()),
      });
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      throw new Error(`redis-cluster: redis-cli --cluster create failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}\n${await logs()}`);
    }

    // Every node must see the whole cluster, or a client may start from a node that does not yet.
    await untilDeadline('cluster_state:ok on every node', deadline, async () => {
      const infos = await Promise.all(ports.map((port) => withNode(port, (n) => n.cluster('INFO') as Promise<string>)));
      const ready = infos.every((info) => /cluster_state:ok/.test(info) && /cluster_slots_ok:16384/.test(info) && new RegExp(`cluster_known_nodes:${masters}\\b`).test(info));
      return ready ? true : undefined;
    }, logs);

    return { nodes: ports.map((port) => ({ host: HOST, port })), stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/**
 * A three-master cluster and a client of it for a whole test file, started before its tests and
 * stopped after. Call at the top level; the getter gives the client inside tests and factories.
 */
export function useRedisCluster(): () => Cluster {
  let handle: RedisClusterHandle | undefined;
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    handle = await startRedisCluster({ masters: 3, timeoutMs: 60_000 });
    const client = new Cluster(handle.nodes, { redisOptions: { connectTimeout: 2_000 } });
    cluster = client;
    await new Promise<void>((resolve, reject) => {
      client.once('ready', resolve);
      client.once('error', reject);
    });
  }, 90_000);
  afterAll(async () => {
    await cluster?.quit().catch(() => cluster?.disconnect());
    await handle?.stop();
  });
  return () => {
    if (!cluster) throw new Error('the test Redis Cluster is only up while tests run');
    return cluster;
  };
}
