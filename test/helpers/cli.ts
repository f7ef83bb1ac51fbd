/**
 * `node bin/ree-sentinel.js ...` in a child process, as a user runs it, judged by exit code, stdout
 * and stderr. The developer's own settings (a rules file, a broker list) are left out of its
 * environment so they cannot change what a test sees.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(ROOT, 'bin', 'ree-sentinel.js');

const cleanEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(REE_|KAFKA_|SCHEMA_REGISTRY_|REDIS_URL$|LOG_LEVEL$)/.test(k)));

export interface CliRun {
  /** null when the command was killed at the time limit, so no expected exit code passes by accident. */
  code: number | null;
  stdout: string;
  stderr: string;
}

export function cli(args: string[], options: { env?: Record<string, string>; timeoutMs: number }): Promise<CliRun> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...cleanEnv, ...options.env }, timeout: options.timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
