/**
 * Fetches the service binaries with the machine's Maven from Maven Central (the only place this
 * project's machines can download Java artifacts from). stack/pom.xml names the artifacts; this
 * decides what is missing and runs Maven once for all of it.
 *
 * Each artifact set is resolved into a `.partial` folder and renamed into place only when Maven
 * succeeded, and a stamp file records the version: an interrupted download or a version change is
 * then never mistaken for a usable install.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runChecked } from './process.ts';
import type { StackSettings } from './settings.ts';

const STAMP = '.resolved';

function installedVersion(dir: string): string | undefined {
  try {
    return readFileSync(join(dir, STAMP), 'utf8').trim();
  } catch {
    return undefined;
  }
}

export function kafkaInstalled(settings: StackSettings): boolean {
  return installedVersion(settings.kafka.libsDir) === settings.kafka.version;
}

export function registryInstalled(settings: StackSettings): boolean {
  const { appDir, version } = settings.registry;
  return installedVersion(appDir) === version && existsSync(join(appDir, 'quarkus-run.jar'));
}

export interface ResolveRequest {
  kafka: boolean;
  registry: boolean;
}

/** Resolves what is asked for and not yet installed. Returns what Maven actually fetched. */
export function resolveArtifacts(settings: StackSettings, want: ResolveRequest): ResolveRequest {
  const needKafka = want.kafka && !kafkaInstalled(settings);
  const needRegistry = want.registry && !registryInstalled(settings);
  if (!needKafka && !needRegistry) return { kafka: false, registry: false };

  const kafkaPartial = `${settings.kafka.libsDir}.partial`;
  const registryPartial = `${settings.registry.appDir}.partial`;
  const goals: string[] = [];
  if (needKafka) {
    rmSync(kafkaPartial, { recursive: true, force: true });
    goals.push('dependency:copy-dependencies@kafka-libs');
  }
  if (needRegistry) {
    rmSync(registryPartial, { recursive: true, force: true });
    goals.push('dependency:unpack@apicurio-app');
  }
  mkdirSync(settings.stackDir, { recursive: true });

  runChecked(
    'mvn',
    [
      '--batch-mode',
      '--quiet',
      '--file',
      settings.pomFile,
      `-Dkafka.version=${settings.kafka.version}`,
      `-Dapicurio.version=${settings.registry.version}`,
      `-Dstack.kafka.libs=${kafkaPartial}`,
      `-Dstack.apicurio.dir=${registryPartial}`,
      ...goals,
    ],
    settings.repoRoot,
    `Maven resolving ${[needKafka && `Kafka ${settings.kafka.version}`, needRegistry && `Apicurio Registry ${settings.registry.version}`].filter(Boolean).join(' and ')}`,
  );

  if (needKafka) promote(kafkaPartial, settings.kafka.libsDir, settings.kafka.version);
  if (needRegistry) {
    if (!existsSync(join(registryPartial, 'quarkus-run.jar'))) {
      throw new Error(`Apicurio Registry ${settings.registry.version} unpacked without quarkus-run.jar in ${registryPartial}`);
    }
    promote(registryPartial, settings.registry.appDir, settings.registry.version);
  }
  return { kafka: needKafka, registry: needRegistry };
}

function promote(partial: string, target: string, version: string): void {
  writeFileSync(join(partial, STAMP), `${version}\n`);
  rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
}
