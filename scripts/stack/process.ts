/**
 * Detached service processes and their pid files. `up` must return while the services keep
 * running, and `down` must stop only what `up` started, so every child is recorded in a pid file
 * together with a piece of its command line that proves a later pid is still the same process.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

export interface PidRecord {
  pid: number;
  /** A substring of /proc/<pid>/cmdline; guards against the pid having been reused since. */
  match: string;
  startedAt: string;
  logFile: string;
  /**
   * Started for one test run, which stops it when done. A later `stack:up` that finds it running
   * clears this, so the test run's teardown does not take away a stack someone asked to keep.
   */
  temporary: boolean;
}

export function writePidFile(file: string, record: PidRecord): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(record)}\n`);
}

export function readPidFile(file: string): PidRecord | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<PidRecord>;
    if (typeof parsed.pid === 'number' && typeof parsed.match === 'string') {
      return {
        pid: parsed.pid,
        match: parsed.match,
        startedAt: String(parsed.startedAt ?? ''),
        logFile: String(parsed.logFile ?? ''),
        temporary: parsed.temporary === true,
      };
    }
  } catch {
    // A torn or hand-edited file is treated like a missing one: nothing we can safely signal.
  }
  return undefined;
}

export function removePidFile(file: string): void {
  rmSync(file, { force: true });
}

function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

function isZombie(pid: number): boolean {
  try {
    // Field 3 of /proc/<pid>/stat is the state; the command name before it may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/** True when the recorded process is still running and is still the one we started. */
export function isOurs(record: PidRecord | undefined): record is PidRecord {
  if (!record || !isAlive(record.pid)) return false;
  const cmd = commandLine(record.pid);
  // Without /proc (not Linux) we cannot tell; trusting the pid is the lesser evil there.
  return cmd === undefined ? true : cmd.includes(record.match);
}

export interface DetachedOptions {
  cwd: string;
  logFile: string;
  env?: NodeJS.ProcessEnv;
}

/**
 * Starts a process in its own session with stdout and stderr appended to a log file, and lets
 * this Node process exit without waiting for it.
 */
export function spawnDetached(command: string, args: readonly string[], options: DetachedOptions): number {
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    if (child.pid === undefined) throw new Error(`could not start ${command}`);
    // Reaping stays with Node (so no zombie lingers while a test run is alive); only the wait goes.
    child.on('error', () => undefined);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** SIGTERM, then SIGKILL if the process outlives the grace period. Resolves once it is gone. */
export async function stopProcess(pid: number, graceMs: number): Promise<'stopped' | 'killed' | 'gone'> {
  if (!isAlive(pid)) return 'gone';
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return 'gone';
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return 'stopped';
    await sleep(100);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return 'stopped';
  }
  while (isAlive(pid)) await sleep(50);
  return 'killed';
}

/** The last lines of a log, to put in an error message when a service dies while starting. */
export function tail(file: string, lines = 25): string {
  try {
    const size = statSync(file).size;
    const fd = openSync(file, 'r');
    try {
      const length = Math.min(size, 64 * 1024);
      const buffer = Buffer.alloc(length);
      readSync(fd, buffer, 0, length, size - length);
      return buffer.toString('utf8').split('\n').slice(-lines - 1).join('\n').trimEnd();
    } finally {
      closeSync(fd);
    }
  } catch {
    return '(no log)';
  }
}

export interface WaitOptions {
  name: string;
  timeoutMs: number;
  intervalMs?: number;
  /** When we started the process: fail fast if it dies instead of waiting out the timeout. */
  pid?: number;
  logFile?: string;
}

export async function waitFor(probe: () => Promise<boolean>, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs;
  const interval = options.intervalMs ?? 250;
  for (;;) {
    if (await probe()) return;
    if (options.pid !== undefined && !isAlive(options.pid)) {
      throw new Error(
        `${options.name} exited while starting.` +
          (options.logFile ? ` Last lines of ${options.logFile}:\n${tail(options.logFile)}` : ''),
      );
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `${options.name} did not answer within ${Math.round(options.timeoutMs / 1000)} s.` +
          (options.logFile ? ` Last lines of ${options.logFile}:\n${tail(options.logFile)}` : ''),
      );
    }
    await sleep(interval);
  }
}

const javaVersions = new Map<string, number | undefined>();

/** The major version a java binary reports, or undefined when it does not run. */
export function javaMajor(java: string): number | undefined {
  if (javaVersions.has(java)) return javaVersions.get(java);
  const result = spawnSync(java, ['-version'], { encoding: 'utf8' });
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr ?? ''}${result.stdout ?? ''}`);
  let major: number | undefined;
  if (result.status === 0 && match) {
    const first = Number(match[1]);
    // Java 8 and older report "1.8.0".
    major = first === 1 && match[2] ? Number(match[2]) : first;
  }
  javaVersions.set(java, major);
  return major;
}

/**
 * Finds a java binary at least `minMajor`: an explicit one if given (it must qualify), else
 * JAVA_HOME, the one on PATH, then the JDKs installed in the standard Debian location. Machines of
 * this project's kind have Java 17 as the default and a newer JDK beside it.
 */
export function findJava(minMajor: number, explicit: string | undefined, purpose: string): string {
  if (explicit) {
    const major = javaMajor(explicit);
    if (major === undefined || major < minMajor) {
      throw new Error(`${purpose} needs Java >= ${minMajor}, but ${explicit} is ${major ?? 'not runnable'}`);
    }
    return explicit;
  }
  const candidates: string[] = [];
  if (process.env.JAVA_HOME) candidates.push(join(process.env.JAVA_HOME, 'bin', 'java'));
  candidates.push('java');
  const jvmRoot = '/usr/lib/jvm';
  if (existsSync(jvmRoot)) {
    for (const entry of readdirSync(jvmRoot).sort()) {
      const java = join(jvmRoot, entry, 'bin', 'java');
      if (existsSync(java)) candidates.push(java);
    }
  }
  const seen: string[] = [];
  for (const java of candidates) {
    const major = javaMajor(java);
    seen.push(`${java}: ${major ?? 'not runnable'}`);
    if (major !== undefined && major >= minMajor) return java;
  }
  throw new Error(
    `${purpose} needs Java >= ${minMajor}; none found (${seen.join('; ')}). ` +
      `Install one or point the setting at it.`,
  );
}

/**
 * Serialises `up` between processes (a developer's `npm run stack:up` racing a test run's global
 * setup would otherwise start two brokers, and the second would die on the taken port). A lock
 * whose holder has died is taken over.
 */
export async function withLock<T>(file: string, timeoutMs: number, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dirname(file), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      writeFileSync(file, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number(readFileSync(file, 'utf8').trim());
      if (!Number.isInteger(holder) || holder <= 0 || !isAlive(holder)) {
        rmSync(file, { force: true });
        continue;
      }
      if (Date.now() >= deadline) {
        throw new Error(`another stack:up (pid ${holder}) has held ${file} for too long`);
      }
      await sleep(200);
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** Runs a command to completion, returning its combined output; throws with that output on failure. */
export function runChecked(command: string, args: readonly string[], cwd: string, what: string): string {
  const result = spawnSync(command, args, { cwd, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const output = `${result.stdout ?? ''}${result.stderr ?? ''}`;
  if (result.error) throw new Error(`${what}: could not run ${command}: ${result.error.message}`);
  if (result.status !== 0) {
    const lines = output.trimEnd().split('\n').slice(-30).join('\n');
    throw new Error(`${what} failed (exit ${result.status ?? result.signal}):\n${lines}`);
  }
  return output;
}
