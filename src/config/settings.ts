/**
 * Runtime settings: environment variables (names fixed by DESIGN.md), overridden by command-line
 * flags, validated in one place. A wrong value stops start-up with one line naming the setting.
 */
import { z } from 'zod';
import { ConfigError } from '../errors.ts';
import { DEFAULT_SESSION_TIMEOUT_MS } from '../kafka/group-timing.ts';
import { DEFAULT_ALLOWED_LATENESS_MS } from '../pipeline/watermark-tracker.ts';

const BROKER_FORMAT = 'expected host:port[,host:port...]';

/** What is wrong with one broker address, or undefined. Five digits let 99999 through, which no connection can use. */
function brokerProblem(broker: string): string | undefined {
  const port = /^[^\s:]+:(\d{1,5})$/.exec(broker)?.[1];
  if (port === undefined) return BROKER_FORMAT;
  const n = Number(port);
  return n >= 1 && n <= 65535 ? undefined : `port ${port} of "${broker}" is not a TCP port (1-65535)`;
}

const brokerList = z
  .string()
  .transform((s) => s.split(',').map((b) => b.trim()).filter(Boolean))
  .superRefine((list, ctx) => {
    const problem = list.length === 0 ? BROKER_FORMAT : list.map(brokerProblem).find((p) => p !== undefined);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  });

const url = (protocols: string[]) =>
  z.string().refine((s) => {
    try {
      return protocols.includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, `expected a ${protocols.join(' or ')} URL`);

/**
 * The dot before `shipments.v1` is added: `qa` gives `qa.shipments.v1`. An operator who wrote `qa.`
 * got `qa..shipments.v1`, topics no other tool of theirs would find; a dot is refused at either end
 * and twice in a row.
 */
const topicPrefix = z
  .string()
  .max(100)
  .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'letters, digits, _ - and single dots between them (the dot before the topic name is added: qa gives qa.shipments.v1)');

export const settingsSchema = z.object({
  kafkaBrokers: brokerList.default(['127.0.0.1:9092']),
  /** The Confluent-compatible API of the registry; `none` runs JSON-only. */
  schemaRegistryUrl: z.union([z.literal('none'), url(['http:', 'https:'])]).default('http://127.0.0.1:8081/apis/ccompat/v7'),
  redisUrl: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  topicPrefix: topicPrefix.default('ree'),
  groupId: z.string().min(1).max(200).default('ree-sentinel'),
  alertFormat: z.enum(['avro', 'json']).default('avro'),
  rulesFile: z.string().min(1).optional(),
  /** Key prefix in Redis. Every key also carries the producer as its hash tag. */
  statePrefix: z.string().regex(/^[A-Za-z0-9:._-]{1,100}$/, 'letters, digits, : . _ - only (no braces: the producer is the hash tag)').default('ree'),
  httpPort: z.coerce.number().int().min(0).max(65535).default(9464),
  topicPartitions: z.coerce.number().int().min(1).max(10_000).default(6),
  topicReplication: z.coerce.number().int().min(1).max(10).default(1),
  /**
   * Partition indexes (their gathered batches, one transaction each) processed at once. 6 by
   * default, every index of the default topics: an index's pass runs while the others' wait on
   * Redis and the broker, which measured a report→alert p99 of ~0.6x that at 1 or 2 (README,
   * "Configuration"). At 1 each transaction also
   * fires the timers of every partition the instance owns; above 1 only its own, and an owned
   * partition that gets no batch has its timers fired by a timer pass of its own (idle-timers.ts).
   */
  concurrency: z.coerce.number().int().min(1).max(64).default(6),
  /**
   * A report pass that sends nothing (no alert, no dead letter: most passes) leaves its offsets to
   * the next transaction of its partition index, committed at the latest this many ms later
   * (Kafka Streams' commit interval; report-consumer.ts). A transaction costs the detector ~1 ms
   * of CPU and the broker its markers; at low rates every report was a pass and a transaction of
   * its own. Alerts never wait for it. What it costs: a crash or rebalance reads up to this much
   * input again (idempotent: no alert twice). 0 commits every pass.
   */
  commitIntervalMs: z.coerce.number().int().min(0).max(600_000).default(1_000),
  /**
   * How long the group waits for a silent member before giving its partitions to the others. Short,
   * so an instance that crashed (or was killed) is replaced within seconds; the broker's
   * group.min.session.timeout.ms (6 s by default) is the floor.
   */
  sessionTimeoutMs: z.coerce.number().int().min(6_000).max(300_000).default(DEFAULT_SESSION_TIMEOUT_MS),
  /**
   * How far behind the latest report times the event-time watermark stays (DESIGN.md, "Watermark");
   * the default and why: pipeline/watermark-tracker.ts. At most 30 days: rules that judge absence
   * wait this long on top of their own grace.
   */
  allowedLatenessMs: z.coerce.number().int().min(0).max(30 * 24 * 3_600_000).default(DEFAULT_ALLOWED_LATENESS_MS),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type Settings = z.output<typeof settingsSchema>;

/** Which environment variable feeds which setting, and the flag that overrides it. */
export const SETTING_SOURCES: Record<keyof Settings, { env: string; flag: string; help: string }> = {
  kafkaBrokers: { env: 'KAFKA_BROKERS', flag: 'brokers', help: 'Kafka bootstrap servers, host:port[,host:port]' },
  schemaRegistryUrl: { env: 'SCHEMA_REGISTRY_URL', flag: 'registry', help: "schema registry's Confluent API URL, or none" },
  redisUrl: { env: 'REDIS_URL', flag: 'redis', help: 'Redis URL (redis://host:port)' },
  topicPrefix: { env: 'REE_TOPIC_PREFIX', flag: 'prefix', help: 'topic name prefix: <prefix>.shipments.v1 ...' },
  groupId: { env: 'REE_GROUP_ID', flag: 'group', help: 'consumer group id' },
  alertFormat: { env: 'REE_ALERT_FORMAT', flag: 'alert-format', help: 'avro | json' },
  rulesFile: { env: 'REE_RULES_FILE', flag: 'rules', help: 'rules file (YAML); built-in defaults when absent' },
  statePrefix: { env: 'REE_STATE_PREFIX', flag: 'state-prefix', help: 'Redis key prefix' },
  httpPort: { env: 'REE_HTTP_PORT', flag: 'http-port', help: 'port of /healthz, /readyz, /metrics (0 = off; 0-65535)' },
  topicPartitions: { env: 'REE_TOPIC_PARTITIONS', flag: 'partitions', help: 'partitions of topics run creates (1-10000)' },
  topicReplication: { env: 'REE_TOPIC_REPLICATION', flag: 'replication', help: 'replication factor of topics run creates (1-10)' },
  concurrency: { env: 'REE_CONCURRENCY', flag: 'concurrency', help: 'partition indexes (their gathered batches, one transaction each) processed at once (1-64)' },
  commitIntervalMs: { env: 'REE_COMMIT_INTERVAL_MS', flag: 'commit-interval', help: 'ms a pass that sends nothing may leave its offsets uncommitted (0 = commit every pass; at most 600000)' },
  sessionTimeoutMs: { env: 'REE_SESSION_TIMEOUT_MS', flag: 'session-timeout', help: 'ms before a silent instance loses its partitions (6000-300000)' },
  allowedLatenessMs: { env: 'REE_ALLOWED_LATENESS_MS', flag: 'allowed-lateness', help: 'ms the event-time watermark stays behind the latest report times (at most 30 days)' },
  logLevel: { env: 'LOG_LEVEL', flag: 'log-level', help: 'fatal|error|warn|info|debug|trace|silent' },
};

/**
 * Flags win over the environment; empty environment values count as unset so `FOO= cmd` does not
 * trip validation. An empty flag is refused: `--brokers ''` (a variable that expanded to nothing)
 * is a value given, and silently taking the default put the detector on another cluster.
 */
export function loadSettings(env: NodeJS.ProcessEnv, flags: Record<string, string | undefined> = {}): Settings {
  const raw: Record<string, unknown> = {};
  for (const [key, source] of Object.entries(SETTING_SOURCES) as [keyof Settings, (typeof SETTING_SOURCES)[keyof Settings]][]) {
    if (flags[source.flag] === '') {
      throw new ConfigError(`bad setting ${settingName(key)} = "": the flag was given an empty value; give it one, or leave --${source.flag} out to use ${source.env} or the default (the setting: ${source.help})`);
    }
    const value = flags[source.flag] ?? env[source.env];
    if (value !== undefined && value !== '') raw[key] = value;
  }
  const parsed = settingsSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]) as keyof Settings;
    const given = raw[key];
    // zod's message says what was wrong ("Too small: expected number to be >=1"); the setting's help says what it is.
    throw new ConfigError(`bad setting ${settingName(key)} = ${JSON.stringify(given)}: ${issue.message} (the setting: ${SETTING_SOURCES[key].help})`);
  }
  return parsed.data;
}

/** How a user sets it: `KAFKA_BROKERS (--brokers)`. */
export function settingName(key: keyof Settings): string {
  const source = SETTING_SOURCES[key];
  return `${source.env} (--${source.flag})`;
}

/** One option of a command's help: flag, environment variable and meaning in columns wide enough for the longest. */
export function helpLine(flag: string, env: string, help: string): string {
  return `  ${flag.padEnd(20)} ${env.padEnd(24)} ${help}`;
}

/** What each setting is when neither its variable nor its flag is given. */
function defaultText(key: keyof Settings): string | undefined {
  const value = settingsSchema.parse({})[key];
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'number' && key.endsWith('Ms') && value > 0 ? `${value} (${readableMs(value)})` : String(value);
}

/** 259200000 → "3 days", 10000 → "10 s": a default in ms, as a reader takes it in. */
function readableMs(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, ' days'],
    [3_600_000, ' h'],
    [60_000, ' min'],
    [1_000, ' s'],
  ];
  for (const [size, name] of units) if (ms % size === 0) return `${ms / size}${name}`.replace(/^1 days$/, '1 day');
  return `${ms} ms`;
}

/** The settings' help lines with their defaults; `only`: just the settings of these flags, for a command that reads no others. */
export function settingsHelp(only?: readonly string[]): string {
  return (Object.entries(SETTING_SOURCES) as [keyof Settings, (typeof SETTING_SOURCES)[keyof Settings]][])
    .filter(([, s]) => !only || only.includes(s.flag))
    .map(([key, s]) => {
      const fallback = defaultText(key);
      return helpLine(`--${s.flag}`, s.env, fallback === undefined ? s.help : `${s.help}; default ${fallback}`);
    })
    .join('\n');
}
