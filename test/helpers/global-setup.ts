/**
 * Global setup of the "integration" vitest project: makes sure the real Kafka, schema registry and
 * Redis answer before any test runs, using the same code as `npm run stack:up`.
 *
 * - A service that already answers is used as it is and never stopped here.
 * - A service given by its own variable (KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REDIS_URL) pointing
 *   somewhere other than the local stack is only checked: tests may run against another cluster.
 * - Whatever this setup starts, it stops at the end, so a CI run leaves the machine as it found
 *   it; REE_KEEP_STACK=1 keeps them up for the next run instead, and so does a `npm run stack:up`
 *   made while the tests run (it claims the services).
 */
import {
  loadSettings,
  probeServices,
  stackAddresses,
  stackDown,
  StackStartError,
  stackUp,
  type ServiceName,
  type StackAddresses,
} from '../../scripts/stack/index.ts';

const VARIABLES: Record<ServiceName, { env: string; key: keyof StackAddresses }> = {
  kafka: { env: 'KAFKA_BROKERS', key: 'kafkaBrokers' },
  registry: { env: 'SCHEMA_REGISTRY_URL', key: 'schemaRegistryUrl' },
  redis: { env: 'REDIS_URL', key: 'redisUrl' },
};

function log(line: string): void {
  console.log(`[stack] ${line}`);
}

export default async function setup(): Promise<() => Promise<void>> {
  const settings = loadSettings();
  const local = stackAddresses(settings);
  const keep = process.env.REE_KEEP_STACK === '1';

  const external: ServiceName[] = [];
  const managed: ServiceName[] = [];
  for (const [name, { env, key }] of Object.entries(VARIABLES) as [ServiceName, (typeof VARIABLES)[ServiceName]][]) {
    const given = process.env[env]?.trim();
    if (given && given !== local[key]) external.push(name);
    else managed.push(name);
  }

  if (external.length > 0) {
    const given = Object.fromEntries(
      Object.values(VARIABLES).map(({ env, key }) => [key, process.env[env]?.trim() || local[key]]),
    ) as unknown as StackAddresses;
    const answers = await probeServices(given);
    const silent = external.filter((name) => !answers[name]);
    if (silent.length > 0) {
      throw new Error(
        `Integration tests cannot reach ${silent.map((n) => `${VARIABLES[n].env}=${process.env[VARIABLES[n].env]}`).join(', ')}. ` +
          'Unset the variable to use the local stack, or start that service.',
      );
    }
  }

  let started: ServiceName[] = [];
  if (managed.length > 0) {
    try {
      const result = await stackUp(settings, { log, services: managed, temporary: !keep });
      started = result.started;
      if (started.length > 0) {
        log(`started ${started.join(', ')} in ${(result.elapsedMs / 1000).toFixed(1)} s` + (keep ? ' (REE_KEEP_STACK=1: left running afterwards)' : ''));
      }
    } catch (error) {
      if (error instanceof StackStartError && error.started.length > 0 && !keep) {
        await stackDown(settings, { services: error.started, onlyTemporary: true }).catch(() => undefined);
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new Error(
        `Integration tests need the real Kafka, schema registry and Redis, and starting them failed:\n${reason}\n` +
          `Run \`npm run stack:up\` to try on its own; service logs are in ${settings.logsDir}.`,
      );
    }
  }

  // Test workers start after this and inherit the environment, so every test sees one set of addresses.
  for (const name of managed) {
    const { env, key } = VARIABLES[name];
    process.env[env] = local[key];
  }

  return async () => {
    if (keep || started.length === 0) return;
    // Only what is still marked temporary: a `stack:up` during the run has claimed the rest.
    await stackDown(settings, { services: started, onlyTemporary: true, log });
  };
}
