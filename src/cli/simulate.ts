/** `ree-sentinel simulate`: a labelled synthetic supply chain, to a file or to live topics. */
import { createRegistryClient } from '../codec/registry-client.ts';
import { createEncoder } from '../codec/encode.ts';
import { loadSettings } from '../config/settings.ts';
import { topicNames, topicSpecs, type TopicNames } from '../config/topics.ts';
import { ReeError } from '../errors.ts';
import { ensureTopics } from '../kafka/admin.ts';
import { readRecording, topicKindOf } from '../pipeline/recording.ts';
import { writeLinesToKafka, type WritableLine } from '../producers/recording-writer.ts';
import { DEFAULT_START, simulateRecords } from '../sim/simulate.ts';
import { DAY_MS, dayOf, isoDay } from '../domain/time.ts';
import { streamSimulation, writeLabels, writeRecording } from '../sim/write-recording.ts';
import { intOption, parseCommandArgs } from './args.ts';
import { connectAdmin, quietKafkaClient } from '../kafka/client.ts';

/** A written recording read back, for sending to Kafka after the file. */
async function* linesOf(path: string): AsyncIterable<WritableLine> {
  for await (const parsed of readRecording(path).lines) if (parsed.ok) yield parsed.line;
}

export const SIMULATE_USAGE = `Usage: ree-sentinel simulate [--seed N] [--producers N] [--days N] (--out rec.jsonl | --to-kafka) [options]

Generates a seeded, reproducible rare-earth supply chain — mines, separation plants, metal, alloy and
magnet makers, domestic transfers, stock declarations, licences, exports — with injected anomalies
for every implemented rule, and labels saying where they are. Some need time: a reporting gap is
injected from day 14 and needs 30 days after it to be found, so every rule is labelled only from
about --days 60 (seeds 1-3 at 100 producers); the default 30 days labels most of them.

Options:
  --seed <n>          random seed (default 42): the same seed gives the same output
  --producers <n>     number of producers (default 100, at least 5)
  --days <n>          days of activity (default 30)
  --start <date>      first day, YYYY-MM-DD (default 2025-06-02)
  --out <file>        write the recording (JSON Lines)
  --labels <file>     write the labels (JSON Lines)
  --no-anomalies      clean traffic only
  --to-kafka          produce the records to the live topics instead (or as well)
  --format <f>        with --to-kafka: avro (default, needs the registry) or json
  --brokers, --registry, --prefix   connection settings for --to-kafka (or KAFKA_BROKERS, SCHEMA_REGISTRY_URL, REE_TOPIC_PREFIX)
  -h, --help          this help`;

/** YYYY-MM-DD naming a day that exists: Date reads 2025-02-30 as 2 March, so the day must come back unchanged. */
function isCalendarDate(text: string): boolean {
  const day = new Date(`${text}T00:00:00Z`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(day.getTime()) && day.toISOString().startsWith(text);
}

/**
 * The simulation's record counts per topic, under the names the records went to: with --to-kafka
 * (`topics`) the live topics of its prefix, as the writer maps them by kind; else the recording's
 * own (the default prefix). The summary had printed ree.* after "wrote … to oprev1.*".
 */
export function countsByTopic(byTopic: Readonly<Record<string, number>>, topics?: TopicNames): [topic: string, count: number][] {
  return Object.entries(byTopic).map(([topic, n]) => {
    const kind = topics ? topicKindOf(topic) : undefined;
    return [kind && topics ? topics[kind] : topic, n];
  });
}

export async function simulateCommand(argv: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    argv,
    {
      seed: { type: 'string' },
      producers: { type: 'string' },
      days: { type: 'string' },
      start: { type: 'string' },
      out: { type: 'string' },
      labels: { type: 'string' },
      'no-anomalies': { type: 'boolean' },
      'to-kafka': { type: 'boolean' },
      format: { type: 'string' },
      brokers: { type: 'string' },
      registry: { type: 'string' },
      prefix: { type: 'string' },
    },
    SIMULATE_USAGE,
  );
  if (values.help) {
    console.log(SIMULATE_USAGE);
    return 0;
  }
  if (!values.out && !values['to-kafka']) throw new ReeError('REE_ERR_USAGE', `say where the records go: --out <file> or --to-kafka\n\n${SIMULATE_USAGE}`);
  const start = values.start as string | undefined;
  if (start !== undefined && !isCalendarDate(start))
    throw new ReeError('REE_ERR_USAGE', `--start must be a calendar date like 2025-06-02, got "${start}"`);
  const format = (values.format as string | undefined) ?? 'avro';
  if (format !== 'avro' && format !== 'json') throw new ReeError('REE_ERR_USAGE', `--format must be avro or json, got "${format}"`);

  const started = performance.now();
  const options = {
    seed: intOption(values.seed as string | undefined, 'seed', 42),
    // Below five producers there is no whole chain (mine to magnet) to simulate.
    producers: intOption(values.producers as string | undefined, 'producers', 100, 5),
    days: intOption(values.days as string | undefined, 'days', 30, 1),
    ...(start ? { start: `${start}T00:00:00Z` } : {}),
    anomalies: !values['no-anomalies'],
  };
  // Streamed, never collected: a simulation of millions of records goes straight to its sink.
  try {
    // The simulator checks its options when it starts: start it once here so a bad option is a
    // one-line usage error before any file is opened.
    simulateRecords(options).next();
  } catch (err) {
    if (err instanceof RangeError) throw new ReeError('REE_ERR_USAGE', err.message);
    throw err;
  }
  if (values['to-kafka']) refuseFutureReports(Date.parse(options.start ?? DEFAULT_START), options.days, Date.now());
  const sim = streamSimulation(options);
  const generated = sim.lines;

  let source: Iterable<WritableLine> | AsyncIterable<WritableLine> = generated;
  if (values.out) {
    // Written as <file>.partial and moved into place when complete: a failed run never leaves a truncated file.
    await writeRecording(values.out as string, generated);
    if (values['to-kafka']) source = linesOf(values.out as string);
  }
  /** With --to-kafka, the topics written to, which the summary names. */
  let liveTopics: TopicNames | undefined;
  if (values['to-kafka']) {
    const settings = loadSettings(process.env, values as Record<string, string | undefined>);
    if (format === 'avro' && settings.schemaRegistryUrl === 'none') throw new ReeError('REE_ERR_USAGE', 'Avro needs a schema registry: set SCHEMA_REGISTRY_URL or use --format json');
    const kafka = quietKafkaClient('ree-sentinel-simulate', settings.kafkaBrokers);
    const topics = topicNames(settings.topicPrefix);
    liveTopics = topics;
    const admin = await connectAdmin(kafka, settings.kafkaBrokers);
    await ensureTopics(admin, topicSpecs(settings.topicPrefix, { partitions: settings.topicPartitions, replicationFactor: settings.topicReplication }));
    await admin.disconnect();
    const encoder = format === 'avro' ? createEncoder({ registry: createRegistryClient(settings.schemaRegistryUrl), topicNames: topics }) : undefined;
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    try {
      const tty = process.stderr.isTTY;
      const { written } = await writeLinesToKafka(source, {
        producer,
        topics,
        format,
        encoder,
        onProgress: (n) => tty && process.stderr.write(`\rto kafka: ${n.toLocaleString('en-US')} records`),
      });
      if (tty) process.stderr.write('\r\x1b[K');
      console.error(`wrote ${written} records to ${settings.topicPrefix}.* on ${settings.kafkaBrokers.join(',')} (${format})`);
    } finally {
      await producer.disconnect();
    }
  }
  const outcome = sim.outcome();
  if (values.labels) await writeLabels(values.labels as string, outcome.labels);
  const s = outcome.stats;
  console.error(
    `simulated ${s.producers} producers over ${s.days} days (seed ${s.seed}): ${s.records} records, ${s.labels} labelled anomalies in ${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
  const counts = countsByTopic(s.byTopic, liveTopics);
  const width = Math.max(22, ...counts.map(([topic]) => topic.length));
  for (const [topic, n] of counts) console.error(`  ${topic.padEnd(width)} ${n}`);
  for (const [rule, n] of Object.entries(s.labelsByRule)) console.error(`  anomalies ${rule.padEnd(24)} ${n}`);
  return 0;
}

/**
 * The live detector dead-letters a report reported more than a day after it reads it
 * (record-envelope.ts), and the simulator files a day's reports up to two days later (46 h): a run
 * sent to Kafka must end at least a day before now, or its last reports would be refused. Said
 * before anything is written, with the latest --start that fits.
 */
export function refuseFutureReports(startMs: number, days: number, now: number): void {
  /** The day after the run's last. */
  const endDay = dayOf(startMs) + days;
  const latestEndDay = dayOf(now - DAY_MS);
  if (endDay <= latestEndDay) return;
  throw new ReeError(
    'REE_ERR_USAGE',
    `--to-kafka: this run's reports go up to ${isoDay(endDay + 2)}, and the live detector dead-letters a report filed more than a day after it reads it; start by ${isoDay(latestEndDay - days)} for ${days} days, or write it with --out and replay it`,
  );
}
