/**
 * The Avro contracts in `schemas/*.avsc` and how they map onto topics and registry subjects.
 * The .avsc files are the wire contract shared with other producers; the zod schemas in
 * src/domain/events.ts stay the source of truth for what a valid event is, and a unit test keeps
 * the two field lists identical.
 */
import { readFileSync } from 'node:fs';
import avro from 'avsc';
import type { Schema as AvscSchema, Type as AvscType } from 'avsc';
import { TOPIC_KINDS, type TopicKind, type TopicNames } from '../config/topics.ts';

/** Every topic kind whose values have a schema; the dead-letter topic carries the original bytes. */
export type SchemaKind = Exclude<TopicKind, 'deadletter'>;

export const SCHEMA_KINDS: readonly SchemaKind[] = TOPIC_KINDS.filter((k): k is SchemaKind => k !== 'deadletter');

const RECORD_NAMES: Record<SchemaKind, string> = {
  production: 'ProductionReport',
  shipments: 'ShipmentReport',
  receipts: 'ReceiptReport',
  inventory: 'InventoryReport',
  licences: 'Licence',
  watchlist: 'WatchlistEntry',
  quotas: 'ProductionQuota',
  alerts: 'Alert',
};

/** The parsed .avsc, as registered with the schema registry. */
export interface AvroRecordSchema {
  type: 'record';
  name: string;
  namespace: string;
  doc?: string;
  fields: { name: string; type: unknown; default?: unknown; doc?: string }[];
}

// Resolved against this module rather than the working directory, so the CLI works from anywhere.
const SCHEMA_DIR = new URL('../../schemas/', import.meta.url);

const rawCache = new Map<SchemaKind, AvroRecordSchema>();
const typeCache = new Map<SchemaKind, AvscType>();

export function recordName(kind: SchemaKind): string {
  return RECORD_NAMES[kind];
}

export function avroSchema(kind: SchemaKind): AvroRecordSchema {
  let schema = rawCache.get(kind);
  if (schema === undefined) {
    const file = new URL(`${RECORD_NAMES[kind]}.avsc`, SCHEMA_DIR);
    schema = JSON.parse(readFileSync(file, 'utf8')) as AvroRecordSchema;
    rawCache.set(kind, schema);
  }
  return schema;
}

/**
 * The avsc type of a kind. Built without `logicalTypes`, so avsc treats timestamp-millis as its
 * underlying long and times stay epoch-ms numbers, exactly what the zod schemas expect.
 */
export function avroType(kind: SchemaKind): AvscType {
  let type = typeCache.get(kind);
  if (type === undefined) {
    type = avro.Type.forSchema(avroSchema(kind) as unknown as AvscSchema, { wrapUnions: 'auto' });
    typeCache.set(kind, type);
  }
  return type;
}

/** Confluent's default TopicNameStrategy: one value subject per topic. */
export function valueSubject(topic: string): string {
  return `${topic}-value`;
}

export interface TopicSchema {
  kind: SchemaKind;
  topic: string;
  subject: string;
  schema: AvroRecordSchema;
}

export function topicSchema(kind: SchemaKind, names: TopicNames): TopicSchema {
  const topic = names[kind];
  return { kind, topic, subject: valueSubject(topic), schema: avroSchema(kind) };
}

export function topicSchemas(names: TopicNames, kinds: readonly SchemaKind[] = SCHEMA_KINDS): TopicSchema[] {
  return kinds.map((kind) => topicSchema(kind, names));
}
