/**
 * Apicurio Registry 3 as the Confluent-compatible schema registry, run from the Quarkus layout
 * Maven unpacked. It keeps schemas in an in-memory H2 database: a restart forgets them, which suits
 * a test stack (producers re-register on first use).
 */
import { join } from 'node:path';
import { findJava, spawnDetached } from './process.ts';
import type { StackSettings } from './settings.ts';
import type { Started } from './kafka.ts';

export const REGISTRY_JAR = 'quarkus-run.jar';

export function registryPaths(settings: StackSettings) {
  return {
    logFile: join(settings.logsDir, 'registry.log'),
    pidFile: join(settings.runDir, 'registry.pid'),
  };
}

export function startRegistry(settings: StackSettings): Started {
  const { registry, host } = settings;
  const paths = registryPaths(settings);
  const java = findJava(registry.minJava, registry.java, `Apicurio Registry ${registry.version}`);
  const pid = spawnDetached(
    java,
    [
      `-Xmx${registry.heap}`,
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      `-Dquarkus.http.port=${registry.port}`,
      `-Dquarkus.http.host=${host}`,
      // The app is built with Quarkus's management interface on (a build-time choice), which would
      // take port 9000 on every interface. Nothing here uses it: park it on a free loopback port,
      // so two stacks (or anything else on 9000) never collide.
      '-Dquarkus.management.host=127.0.0.1',
      '-Dquarkus.management.port=0',
      // Tests register throwaway subjects and must be able to delete them again.
      '-Dapicurio.rest.deletion.group.enabled=true',
      '-Dapicurio.rest.deletion.artifact.enabled=true',
      '-Dapicurio.rest.deletion.artifact-version.enabled=true',
      // The stack dir's path in the command line is what tells our registry from another one.
      `-Dree.stack.dir=${settings.stackDir}`,
      '-jar',
      REGISTRY_JAR,
    ],
    { cwd: registry.appDir, logFile: paths.logFile },
  );
  return { pid, match: `-Dree.stack.dir=${settings.stackDir}`, logFile: paths.logFile };
}

/** Ready means the Confluent API itself answers, not just that Quarkus opened its port. */
export async function registryAnswers(url: string, timeoutMs = 3000): Promise<boolean> {
  try {
    const response = await fetch(`${url}/subjects`, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return response.status === 200;
  } catch {
    return false;
  }
}
