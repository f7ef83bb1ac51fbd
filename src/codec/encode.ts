/**
 * Events out as Confluent-framed Avro (or JSON). The registry only hands out schema ids; the bytes
 * are written with our own avsc types, so what goes on the wire is exactly `schemas/*.avsc`
 * whatever options the registry client was built with.
 */
import { COMPATIBILITY, type SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import type { TopicNames } from '../config/topics.ts';
import { InvalidRecordError, ReeError, errorMessage } from '../errors.ts';
import { CONFLUENT_HEADER_BYTES, CONFLUENT_MAGIC_BYTE } from './decode.ts';
import { SCHEMA_KINDS, avroType, recordName, topicSchema, type SchemaKind } from './schemas.ts';

export type SchemaRegistrar = Pick<SchemaRegistry, 'register' | 'getRegistryIdBySchema'>;

export interface EncoderOptions {
  registry: SchemaRegistrar;
  topicNames: TopicNames;
  /**
   * Compatibility the library sets on a subject it creates. A subject that already has another
   * level is left alone: the schema is then looked up instead of registered.
   */
  compatibility?: COMPATIBILITY;
}

export interface Encoder {
  /** Registers each kind's schema under `<topic>-value` and returns the ids it got. */
  registerSchemas(kinds?: readonly SchemaKind[]): Promise<Partial<Record<SchemaKind, number>>>;
  /** Confluent-framed Avro; registers the kind's schema first if that has not happened yet. */
  encode(kind: SchemaKind, value: unknown): Promise<Buffer>;
  encodeJson(value: unknown): Buffer;
  /** The id `encode` uses for a kind, once known. */
  schemaId(kind: SchemaKind): number | undefined;
}

/** A 409 on the last of these is a real conflict: the subject holds an incompatible schema. */
const CONCURRENT_START_ATTEMPTS = 4;

function registrationError(kind: SchemaKind, subject: string, err: unknown): ReeError {
  const status = httpStatus(err);
  // 409: incompatible with what the subject holds; 422: the registry rejects the schema.
  // Neither gets better by retrying.
  const permanent = status === 409 || status === 422;
  return new ReeError(
    permanent ? 'REE_ERR_CONFIG' : 'REE_ERR_KAFKA',
    `could not register the ${recordName(kind)} schema under ${subject}: ${errorMessage(err)}`,
    { retriable: !permanent, cause: err, context: { subject, status } },
  );
}

export function createEncoder(options: EncoderOptions): Encoder {
  const { registry, topicNames } = options;
  const compatibility = options.compatibility ?? COMPATIBILITY.BACKWARD;
  const ids = new Map<SchemaKind, number>();
  const pending = new Map<SchemaKind, Promise<number>>();

  async function register(kind: SchemaKind): Promise<number> {
    const { subject, schema } = topicSchema(kind, topicNames);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return (await registry.register(schema, { subject, compatibility })).id;
      } catch (err) {
        // The library refuses to register under a subject whose level differs from ours; the
        // schema may well be there already (registered by an operator or another deployment).
        if (errorName(err) === 'ConfluentSchemaRegistryCompatibilityError') return lookUpExisting(kind, err);
        // Instances starting together race on a new subject: each sees no config, each registers
        // (same schema, same id) and each then sets the subject's compatibility. Confluent's
        // registry takes the second setting as an update; Apicurio answers 409 ("A rule named
        // 'COMPATIBILITY' already exists"). Either way the subject is now set up by the winner,
        // and the next attempt takes the ordinary path.
        if (attempt < CONCURRENT_START_ATTEMPTS && httpStatus(err) === 409) {
          await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 200));
          continue;
        }
        throw registrationError(kind, subject, err);
      }
    }
  }

  async function lookUpExisting(kind: SchemaKind, cause: unknown): Promise<number> {
    const { subject, schema } = topicSchema(kind, topicNames);
    try {
      return await registry.getRegistryIdBySchema(subject, schema);
    } catch (lookupErr) {
      throw new ReeError(
        'REE_ERR_CONFIG',
        `subject ${subject} has a compatibility level other than ${compatibility} and does not hold the ${recordName(kind)} schema: ${errorMessage(lookupErr)}`,
        { cause: lookupErr, context: { subject, refused: errorMessage(cause) } },
      );
    }
  }

  function idFor(kind: SchemaKind): Promise<number> {
    const known = ids.get(kind);
    if (known !== undefined) return Promise.resolve(known);
    let inFlight = pending.get(kind);
    if (inFlight === undefined) {
      inFlight = register(kind).then(
        (id) => {
          ids.set(kind, id);
          pending.delete(kind);
          return id;
        },
        (err: unknown) => {
          pending.delete(kind);
          throw err;
        },
      );
      pending.set(kind, inFlight);
    }
    return inFlight;
  }

  async function registerSchemas(kinds: readonly SchemaKind[] = SCHEMA_KINDS) {
    const result: Partial<Record<SchemaKind, number>> = {};
    for (const kind of kinds) result[kind] = await idFor(kind);
    return result;
  }

  async function encode(kind: SchemaKind, value: unknown): Promise<Buffer> {
    const body = encodeAvroBody(kind, value);
    return frameConfluent(await idFor(kind), body);
  }

  return { registerSchemas, encode, encodeJson, schemaId: (kind) => ids.get(kind) };
}

/** The Avro binary of one event, without framing. Refuses values the schema does not accept. */
export function encodeAvroBody(kind: SchemaKind, value: unknown): Buffer {
  const type = avroType(kind);
  const bad: string[] = [];
  if (!type.isValid(value, { errorHook: (path: string[], got: unknown) => bad.push(`${path.join('.') || '(record)'}: unexpected ${JSON.stringify(got) ?? 'undefined'}`) })) {
    throw new InvalidRecordError('REE_ERR_VALIDATION', `cannot encode ${recordName(kind)} as Avro: ${bad.slice(0, 5).join('; ')}`);
  }
  return type.toBuffer(value);
}

export function frameConfluent(schemaId: number, body: Buffer): Buffer {
  const header = Buffer.alloc(CONFLUENT_HEADER_BYTES);
  header.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  header.writeUInt32BE(schemaId, 1);
  return Buffer.concat([header, body]);
}

export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

function errorName(err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined;
}

function httpStatus(err: unknown): number | undefined {
  const status = typeof err === 'object' && err !== null && 'status' in err ? (err as { status: unknown }).status : undefined;
  return typeof status === 'number' ? status : undefined;
}
