/**
 * `ree-sentinel run` as a child process on the test stack, for tests that kill it (SIGKILL cannot
 * be done to an in-process detector). The developer's own settings are left out of its environment.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { Kafka } from 'kafkajs';
import { topicNames, topicSpecs } from '../../src/config/topics.ts';
import { ensureTopics } from '../../src/kafka/admin.ts';
import { ROOT } from './cli.ts';
import { KAFKA_BROKERS, REDIS_URL, deleteTopics, uniqueName } from './stack-env.ts';

const BIN = join(ROOT, 'bin', 'ree-sentinel.js');
const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REE_|KAFKA_|SCHEMA_REGISTRY_|REDIS_URL$|LOG_LEVEL$)/.test(k)));

export interface DetectorProcess {
  child: ChildProcess;
  /** Resolves with the exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/** Starts a detector on `prefix` (group `<prefix>-g`, JSON alerts, no registry); its warnings go to the test's stderr. */
export function startDetectorProcess(
  prefix: string,
  options: { sessionTimeoutMs: number; partitions: number; /** Node options before the script, e.g. an --import of a test hook. */ nodeArgs?: string[]; env?: Record<string, string> },
): DetectorProcess {
  const args = ['run', '--prefix', prefix, '--group', `${prefix}-g`, '--state-prefix', prefix, '--partitions', String(options.partitions), '--http-port', '0'];
  args.push('--registry', 'none', '--alert-format', 'json', '--session-timeout', String(options.sessionTimeoutMs), '--log-level', 'error');
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], { cwd: ROOT, env: { ...cleanEnv, ...options.env, KAFKA_BROKERS, REDIS_URL }, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited };
}

/** SIGKILL: no batch finished, nothing committed or closed, the group left without notice. */
export async function killHard(detector: DetectorProcess): Promise<void> {
  detector.child.kill('SIGKILL');
  await detector.exited;
}

/** SIGTERM: the batch in flight finishes, then the detector leaves its group. */
export async function stopGently(detector: DetectorProcess): Promise<void> {
  detector.child.kill('SIGTERM');
  await detector.exited;
}

/**
 * A test file's detector processes and the topics of the prefixes it runs them on: `cleanUp`
 * (in afterAll) kills what still runs and deletes the topics.
 */
export class DetectorFixtures {
  /** Prefixes whose topics the file created. */
  readonly prefixes: string[] = [];
  private readonly running = new Set<DetectorProcess>();

  constructor(private readonly kafka: Kafka) {}

  /** A fresh prefix (from `name`) with the project's topics at `partitions` partitions. */
  async topics(name: string, partitions: number): Promise<string> {
    const prefix = uniqueName(name);
    this.prefixes.push(prefix);
    const admin = this.kafka.admin();
    await admin.connect();
    try {
      await ensureTopics(admin, topicSpecs(prefix, { partitions }));
    } finally {
      await admin.disconnect();
    }
    return prefix;
  }

  start(prefix: string, options: Parameters<typeof startDetectorProcess>[1]): DetectorProcess {
    const d = startDetectorProcess(prefix, options);
    this.running.add(d);
    void d.exited.then(() => this.running.delete(d));
    return d;
  }

  async cleanUp(): Promise<void> {
    for (const d of this.running) d.child.kill('SIGKILL');
    const admin = this.kafka.admin();
    await admin.connect();
    await deleteTopics(admin, this.prefixes.flatMap((p) => Object.values(topicNames(p))));
    await admin.disconnect();
  }
}
