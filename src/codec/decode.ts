/**
 * Record values in, plain validated events out. A value is told apart by its first byte: 0 is
 * Confluent-framed Avro, `{` (after JSON whitespace) is a UTF-8 JSON object, anything else is
 * refused. Both encodings end up as the same plain object with epoch-ms times, so one set of zod
 * schemas validates them.
 */
import { isUtf8 } from 'node:buffer';
import type { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { InvalidRecordError, ReeError, errorMessage } from '../errors.ts';
import type { Alert, Licence, ProductionQuota, Report, ReportKind, WatchlistEntry } from '../domain/events.ts';
import { validateLicence, validateQuota, validateReport, validateWatchlistEntry } from '../domain/validate.ts';
import { avroType } from './schemas.ts';

export const CONFLUENT_MAGIC_BYTE = 0;
/** Magic byte + 4-byte big-endian schema id. */
export const CONFLUENT_HEADER_BYTES = 5;

/** What the decoder needs from a registry; the real SchemaRegistry satisfies it. */
export type SchemaSource = Pick<SchemaRegistry, 'getSchema'>;
type WriterSchema = Awaited<ReturnType<SchemaRegistry['getSchema']>>;

export interface DecoderOptions {
  /** Without one, JSON still decodes and Avro records are refused as REE_ERR_UNKNOWN_SCHEMA. */
  registry?: SchemaSource;
  /**
   * How long a schema id the registry answered 404 for stays known-unknown. Without this a topic
   * full of records with a bogus id would cost one registry request per record.
   */
  unknownSchemaTtlMs?: number;
}

export type DecodeOutcome<T> = { ok: true; value: T } | { ok: false; error: InvalidRecordError };

export interface Decoder {
  /** The record value as a plain object (null for a tombstone), not yet validated. */
  decode(value: Buffer | null): Promise<unknown>;
  decodeReport(kind: ReportKind, value: Buffer | null): Promise<Report>;
  /** null is a tombstone: the licence was deleted. */
  decodeLicence(value: Buffer | null): Promise<Licence | null>;
  /** null is a tombstone: the entry was deleted. */
  decodeWatchlistEntry(value: Buffer | null): Promise<WatchlistEntry | null>;
  /** null is a tombstone: the quota was withdrawn. */
  decodeQuota(value: Buffer | null): Promise<ProductionQuota | null>;
  decodeAlert(value: Buffer | null): Promise<Alert>;
  /**
   * Decodes a batch concurrently (each schema id is fetched once). Bad records become `ok: false`
   * outcomes in place, so the caller can dead-letter them and go on; any other failure, such as
   * an unreachable registry, rejects the whole call because retrying the batch is the cure.
   */
  decodeBatch<T>(values: readonly (Buffer | null)[], decodeOne: (value: Buffer | null) => Promise<T>): Promise<DecodeOutcome<T>[]>;
  /**
   * decodeBatch of decodeReport, for the live hot path: the batch's writer schemas are fetched
   * first (each once), then every record is decoded and validated in one synchronous loop, with no
   * promise per record. Same outcomes, same failures.
   */
  decodeReports(kind: ReportKind, values: readonly (Buffer | null)[]): Promise<DecodeOutcome<Report>[]>;
}

const JSON_WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const NOT_A_KNOWN_ENCODING = 'neither Confluent Avro (magic byte 0) nor a JSON object';

export function createDecoder(options: DecoderOptions = {}): Decoder {
  const { registry } = options;
  const unknownTtl = options.unknownSchemaTtlMs ?? 60_000;
  const schemas = new Map<number, Promise<WriterSchema>>();
  const unknownUntil = new Map<number, number>();

  function writerSchema(schemaId: number): Promise<WriterSchema> {
    if (registry === undefined) {
      return Promise.reject(
        withSchemaId(
          new InvalidRecordError(
            'REE_ERR_UNKNOWN_SCHEMA',
            `Avro record but no schema registry configured (schema id ${schemaId})`,
          ),
          schemaId,
        ),
      );
    }
    const until = unknownUntil.get(schemaId);
    if (until !== undefined) {
      if (Date.now() < until) return Promise.reject(unknownSchemaError(schemaId, 'not found in the schema registry'));
      unknownUntil.delete(schemaId);
    }
    let pending = schemas.get(schemaId);
    if (pending === undefined) {
      pending = registry.getSchema(schemaId).catch((err: unknown) => {
        schemas.delete(schemaId);
        throw classifyRegistryError(err, schemaId, () => unknownUntil.set(schemaId, Date.now() + unknownTtl));
      });
      schemas.set(schemaId, pending);
    }
    return pending;
  }

  async function decodeAvro(value: Buffer): Promise<unknown> {
    const schemaId = avroSchemaId(value);
    return avroBody(value, schemaId, await writerSchema(schemaId));
  }

  function avroBody(value: Buffer, schemaId: number, schema: WriterSchema): unknown {
    let decoded: unknown;
    try {
      decoded = schema.fromBuffer(value.subarray(CONFLUENT_HEADER_BYTES));
    } catch (err) {
      throw withSchemaId(
        new InvalidRecordError('REE_ERR_DECODE', `corrupt Avro body for schema id ${schemaId}: ${errorMessage(err)}`),
        schemaId,
      );
    }
    return toPlain(decoded);
  }

  async function decode(value: Buffer | null): Promise<unknown> {
    if (value === null) return null;
    if (value.length > 0 && value[0] === CONFLUENT_MAGIC_BYTE) return decodeAvro(value);
    return decodeJsonObject(value);
  }

  async function decodeReport(kind: ReportKind, value: Buffer | null): Promise<Report> {
    if (value === null) throw nullReport();
    return validateReport(kind, await decode(value));
  }

  async function decodeLicence(value: Buffer | null): Promise<Licence | null> {
    return value === null ? null : validateLicence(await decode(value));
  }

  async function decodeWatchlistEntry(value: Buffer | null): Promise<WatchlistEntry | null> {
    return value === null ? null : validateWatchlistEntry(await decode(value));
  }

  async function decodeQuota(value: Buffer | null): Promise<ProductionQuota | null> {
    return value === null ? null : validateQuota(await decode(value));
  }

  async function decodeAlert(value: Buffer | null): Promise<Alert> {
    if (value === null) throw new InvalidRecordError('REE_ERR_DECODE', 'null value (tombstone) on the alerts topic');
    return validateAlert(await decode(value));
  }

  /** Writer schemas of the batch's Avro records, fetched at once; an id the registry refuses maps to its (bad-record) error. */
  async function schemasOf(values: readonly (Buffer | null)[]): Promise<Map<number, WriterSchema | InvalidRecordError>> {
    const ids = new Set<number>();
    for (const value of values) if (value !== null && value.length >= CONFLUENT_HEADER_BYTES && value[0] === CONFLUENT_MAGIC_BYTE) ids.add(value.readUInt32BE(1));
    const found = new Map<number, WriterSchema | InvalidRecordError>();
    // A registry in trouble rejects here, failing the whole batch as decodeBatch does.
    await Promise.all(
      [...ids].map(async (id) => {
        try {
          found.set(id, await writerSchema(id));
        } catch (error) {
          if (!(error instanceof InvalidRecordError)) throw error;
          found.set(id, error);
        }
      }),
    );
    return found;
  }

  async function decodeReports(kind: ReportKind, values: readonly (Buffer | null)[]): Promise<DecodeOutcome<Report>[]> {
    const schemas = await schemasOf(values);
    const plain = (value: Buffer): unknown => {
      if (value.length === 0 || value[0] !== CONFLUENT_MAGIC_BYTE) return decodeJsonObject(value);
      const schemaId = avroSchemaId(value);
      const schema = schemas.get(schemaId)!;
      if (schema instanceof InvalidRecordError) throw schema;
      return avroBody(value, schemaId, schema);
    };
    const out: DecodeOutcome<Report>[] = new Array(values.length);
    for (let i = 0; i < values.length; i += 1) {
      const value = values[i]!;
      try {
        if (value === null) throw nullReport();
        out[i] = { ok: true, value: validateReport(kind, plain(value)) };
      } catch (error) {
        if (!(error instanceof InvalidRecordError)) throw error;
        out[i] = { ok: false, error };
      }
    }
    return out;
  }

  async function decodeBatch<T>(
    values: readonly (Buffer | null)[],
    decodeOne: (value: Buffer | null) => Promise<T>,
  ): Promise<DecodeOutcome<T>[]> {
    return Promise.all(
      values.map(async (value): Promise<DecodeOutcome<T>> => {
        try {
          return { ok: true, value: await decodeOne(value) };
        } catch (error) {
          if (error instanceof InvalidRecordError) return { ok: false, error };
          throw error;
        }
      }),
    );
  }

  return { decode, decodeReport, decodeLicence, decodeWatchlistEntry, decodeQuota, decodeAlert, decodeBatch, decodeReports };
}

const nullReport = () => new InvalidRecordError('REE_ERR_DECODE', 'null value (tombstone) on a report topic; reports are never deleted');

/** The schema id of a Confluent-framed value (magic byte already seen). */
function avroSchemaId(value: Buffer): number {
  if (value.length < CONFLUENT_HEADER_BYTES) {
    throw new InvalidRecordError('REE_ERR_DECODE', `truncated Confluent Avro header: ${value.length} byte(s), need at least ${CONFLUENT_HEADER_BYTES}`);
  }
  return value.readUInt32BE(1);
}

/** The JSON half of decode, usable without a decoder: no registry is involved. */
export function decodeJsonObject(value: Buffer): Record<string, unknown> {
  let start = 0;
  if (UTF8_BOM.every((b, i) => value[i] === b)) start = UTF8_BOM.length;
  while (start < value.length && JSON_WHITESPACE.has(value[start]!)) start += 1;
  if (start >= value.length) {
    throw new InvalidRecordError('REE_ERR_DECODE', `empty value: ${NOT_A_KNOWN_ENCODING}`);
  }
  if (value[start] !== 0x7b /* { */) {
    const first = value[start]!.toString(16).padStart(2, '0');
    throw new InvalidRecordError('REE_ERR_DECODE', `value is ${NOT_A_KNOWN_ENCODING} (first byte 0x${first} at offset ${start})`);
  }
  // isUtf8 then toString: the same refusal as a fatal TextDecoder, without building one per record
  // (that alone cost as much as JSON.parse). Decoding from `start` skips the BOM, as TextDecoder did.
  if (!isUtf8(value)) throw new InvalidRecordError('REE_ERR_DECODE', 'JSON value is not valid UTF-8');
  const text = value.toString('utf8', start);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new InvalidRecordError('REE_ERR_DECODE', `JSON value does not parse: ${errorMessage(err)}`);
  }
  // Starting with `{` and parsing guarantees an object; the check keeps the type honest.
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidRecordError('REE_ERR_DECODE', 'JSON value is not an object');
  }
  return parsed as Record<string, unknown>;
}

/**
 * There is no zod schema for alerts (we write them, we do not judge them), so the Avro type is
 * the contract: a JSON alert must be a value the Alert schema would accept.
 */
export function validateAlert(value: unknown): Alert {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new InvalidRecordError('REE_ERR_VALIDATION', 'invalid Alert: (record): expected an object');
  }
  const bad: string[] = [];
  avroType('alerts').isValid(value, {
    errorHook: (path: string[], got: unknown) => bad.push(`${path.join('.') || '(record)'}: unexpected ${JSON.stringify(got) ?? 'undefined'}`),
  });
  if (bad.length > 0) {
    throw new InvalidRecordError('REE_ERR_VALIDATION', `invalid Alert: ${bad.slice(0, 5).join('; ')}`);
  }
  const alert = value as Alert;
  // Absent and null mean the same for the optional fields; Avro-decoded alerts carry null.
  return {
    ...alert,
    clientId: alert.clientId ?? null,
    licenceId: alert.licenceId ?? null,
    windowStart: alert.windowStart ?? null,
    windowEnd: alert.windowEnd ?? null,
  };
}

/**
 * avsc hands back instances of generated record classes, and Dates if whoever built the registry
 * asked for logical types. Downstream code compares, spreads and serialises these, so give it
 * plain data with epoch-ms times whatever the registry's options were.
 */
export function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Date) return value.getTime();
  if (Array.isArray(value)) return value.map(toPlain);
  if (ArrayBuffer.isView(value)) return value;
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value)) out[key] = toPlain((value as Record<string, unknown>)[key]);
  return out;
}

function withSchemaId<E extends ReeError>(error: E, schemaId: number): E {
  error.context.schemaId = schemaId;
  return error;
}

function unknownSchemaError(schemaId: number, why: string): InvalidRecordError {
  return withSchemaId(new InvalidRecordError('REE_ERR_UNKNOWN_SCHEMA', `unknown schema id ${schemaId}: ${why}`), schemaId);
}

/**
 * A 404 means the id does not exist: the record can never be decoded, so it is bad input. Any
 * other HTTP status (the client reports a refused connection as 400) means the registry is in
 * trouble, and the record must be retried rather than dead-lettered. An error without a status
 * came from building the schema, which no retry will fix.
 */
function classifyRegistryError(err: unknown, schemaId: number, rememberUnknown: () => void): ReeError {
  const status = typeof err === 'object' && err !== null && 'status' in err ? (err as { status: unknown }).status : undefined;
  if (status === 404) {
    rememberUnknown();
    return unknownSchemaError(schemaId, 'not found in the schema registry');
  }
  if (typeof status === 'number') {
    return new ReeError('REE_ERR_UNKNOWN_SCHEMA', `schema registry unavailable while fetching schema id ${schemaId}: ${errorMessage(err)}`, {
      retriable: true,
      context: { schemaId, status },
      cause: err,
    });
  }
  return unknownSchemaError(schemaId, `the registry's schema is unusable: ${errorMessage(err)}`);
}
