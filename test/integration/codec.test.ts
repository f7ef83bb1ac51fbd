/**
 * The codec against the real schema registry: schemas registered under fresh subjects, every kind
 * encoded and decoded back through a registry client that has to fetch the schema by id.
 */
import { randomUUID } from 'node:crypto';
import avro from 'avsc';
import { COMPATIBILITY, SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { beforeAll, describe, expect, it } from 'vitest';
import { createDecoder, validateAlert, type Decoder } from '../../src/codec/decode.ts';
import { createEncoder, encodeJson, frameConfluent, type Encoder } from '../../src/codec/encode.ts';
import { SCHEMA_KINDS, avroSchema, valueSubject, type SchemaKind } from '../../src/codec/schemas.ts';
import { topicNames, type TopicNames } from '../../src/config/topics.ts';
import { validateLicence, validateQuota, validateReport, validateWatchlistEntry } from '../../src/domain/validate.ts';
import { InvalidRecordError, ReeError } from '../../src/errors.ts';
import { SAMPLES } from '../helpers/sample-events.ts';

const REGISTRY_URL = process.env.SCHEMA_REGISTRY_URL ?? 'http://127.0.0.1:8081/apis/ccompat/v7';

function zodParsed(kind: SchemaKind, value: unknown): unknown {
  switch (kind) {
    case 'production':
    case 'shipments':
    case 'receipts':
    case 'inventory':
      return validateReport(kind, value);
    case 'licences':
      return validateLicence(value);
    case 'watchlist':
      return validateWatchlistEntry(value);
    case 'quotas':
      return validateQuota(value);
    case 'alerts':
      return validateAlert(value);
  }
}

function decodeAs(decoder: Decoder, kind: SchemaKind, value: Buffer): Promise<unknown> {
  switch (kind) {
    case 'production':
    case 'shipments':
    case 'receipts':
    case 'inventory':
      return decoder.decodeReport(kind, value);
    case 'licences':
      return decoder.decodeLicence(value);
    case 'watchlist':
      return decoder.decodeWatchlistEntry(value);
    case 'quotas':
      return decoder.decodeQuota(value);
    case 'alerts':
      return decoder.decodeAlert(value);
  }
}

async function failure(promise: Promise<unknown>): Promise<ReeError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReeError);
  return err as ReeError;
}

describe('codec with the schema registry', () => {
  let names: TopicNames;
  let encoder: Encoder;
  let ids: Partial<Record<SchemaKind, number>>;
  // A separate client, so decoding has to fetch each schema by id instead of reusing the cache
  // the encoder's client filled when it registered them.
  let decoder: Decoder;

  beforeAll(async () => {
    names = topicNames(`it-codec-${randomUUID().slice(0, 8)}`);
    encoder = createEncoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }), topicNames: names });
    ids = await encoder.registerSchemas();
    decoder = createDecoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }) });
  });

  it('registers one schema per kind under <topic>-value', async () => {
    expect(Object.keys(ids).sort()).toEqual([...SCHEMA_KINDS].sort());
    // Asked subject by subject: the registry's subject list is paged, and a long-lived test registry
    // holds more subjects than one page.
    for (const kind of SCHEMA_KINDS) {
      const versions = await fetch(`${REGISTRY_URL}/subjects/${encodeURIComponent(valueSubject(names[kind]))}/versions`).then((r) => r.json() as Promise<number[]>);
      expect(versions, kind).toHaveLength(1);
    }
  });

  it('gets the same ids when the schemas are registered again', async () => {
    const again = createEncoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }), topicNames: names });
    await expect(again.registerSchemas()).resolves.toEqual(ids);
  });

  it.each(SCHEMA_KINDS)('%s: Avro through the registry decodes to the zod-parsed value', async (kind) => {
    const sample = SAMPLES[kind];
    const value = await encoder.encode(kind, sample);
    expect(value[0]).toBe(0);
    expect(value.readUInt32BE(1)).toBe(ids[kind]);

    const raw = await decoder.decode(value);
    // Plain data with numeric times, not avsc record instances or Dates.
    expect(raw).toStrictEqual(JSON.parse(JSON.stringify(raw)));
    expect(await decodeAs(decoder, kind, value)).toEqual(zodParsed(kind, sample));
  });

  it.each(SCHEMA_KINDS)('%s: Avro and JSON decode to the same value', async (kind) => {
    const sample = SAMPLES[kind];
    const fromAvro = await decodeAs(decoder, kind, await encoder.encode(kind, sample));
    expect(await decodeAs(decoder, kind, encodeJson(sample))).toEqual(fromAvro);
  });

  it('refuses an unknown schema id as REE_ERR_UNKNOWN_SCHEMA, naming the id', async () => {
    const value = frameConfluent(999_999, Buffer.from([2, 0x41]));
    for (let i = 0; i < 2; i += 1) {
      const err = await failure(decoder.decode(value));
      expect(err).toBeInstanceOf(InvalidRecordError);
      expect(err.code).toBe('REE_ERR_UNKNOWN_SCHEMA');
      expect(err.message).toContain('999999');
    }
  });

  it('refuses a corrupt Avro body as REE_ERR_DECODE, naming the schema id', async () => {
    const good = await encoder.encode('shipments', SAMPLES.shipments);
    for (const bad of [good.subarray(0, good.length - 3), Buffer.concat([good, Buffer.from([1, 2, 3])])]) {
      const err = await failure(decoder.decode(bad));
      expect(err.code).toBe('REE_ERR_DECODE');
      expect(err.message).toContain(`schema id ${ids.shipments}`);
    }
  });

  it('still yields epoch-ms numbers from a registry client configured to map timestamps to Dates', async () => {
    class DateType extends avro.types.LogicalType {
      override _fromValue(ms: number) {
        return new Date(ms);
      }
      override _toValue(date: unknown) {
        return date instanceof Date ? date.getTime() : date;
      }
    }
    const registry = new SchemaRegistry(
      { host: REGISTRY_URL },
      { forSchemaOptions: { logicalTypes: { 'timestamp-millis': DateType } } },
    );
    // Proves the client really hands out Dates, so the next assertion means something.
    const fetched = await registry.getSchema(ids.licences!);
    const direct = fetched.fromBuffer((await encoder.encode('licences', SAMPLES.licences)).subarray(5)) as { issuedAt: unknown };
    expect(direct.issuedAt).toBeInstanceOf(Date);

    const dated = createDecoder({ registry });
    const value = await encoder.encode('licences', SAMPLES.licences);
    await expect(dated.decodeLicence(value)).resolves.toEqual(SAMPLES.licences);
  });

  it('reports an unreachable registry as a retriable error, not a bad record', async () => {
    const down = createDecoder({ registry: new SchemaRegistry({ host: 'http://127.0.0.1:9/apis/ccompat/v7', retry: { retries: 0 } }) });
    const err = await failure(down.decode(frameConfluent(ids.production!, Buffer.alloc(0))));
    expect(err).not.toBeInstanceOf(InvalidRecordError);
    expect(err.retriable).toBe(true);
  });

  it('refuses to encode a value the schema does not accept, naming the field', async () => {
    const err = await failure(encoder.encode('production', { ...SAMPLES.production, stage: 'SMELTING' }));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toContain('stage');
  });

  it('registers a schema whose subject already has another compatibility level by looking it up', async () => {
    const own = topicNames(`it-codec-compat-${randomUUID().slice(0, 8)}`);
    const registry = new SchemaRegistry({ host: REGISTRY_URL });
    const first = await registry.register(avroSchema('inventory'), {
      subject: valueSubject(own.inventory),
      compatibility: COMPATIBILITY.NONE,
    });
    const enc = createEncoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }), topicNames: own });
    await expect(enc.registerSchemas(['inventory'])).resolves.toEqual({ inventory: first.id });
  });

  it('accepts the Licence schema with effectiveAt where the schema before it is registered, and reads records of both', async () => {
    const own = topicNames(`it-codec-evolve-${randomUUID().slice(0, 8)}`);
    const subject = valueSubject(own.licences);
    const current = avroSchema('licences');
    const previous = { ...current, fields: current.fields.filter((f) => (f as { name: string }).name !== 'effectiveAt') };
    expect(previous.fields).toHaveLength(current.fields.length - 1);
    const registry = new SchemaRegistry({ host: REGISTRY_URL });
    const old = await registry.register(previous, { subject, compatibility: COMPATIBILITY.BACKWARD });
    const { effectiveAt: _none, ...before } = SAMPLES.licences as Record<string, unknown>;
    const oldRecord = await registry.encode(old.id, before);

    const enc = createEncoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }), topicNames: own });
    const { licences: evolvedId } = await enc.registerSchemas(['licences']);
    expect(evolvedId).toBeDefined();
    expect(evolvedId).not.toBe(old.id);
    const versions = await fetch(`${REGISTRY_URL}/subjects/${subject}/versions`).then((r) => r.json() as Promise<number[]>);
    expect(versions).toHaveLength(2);

    const revoked = { ...SAMPLES.licences, status: 'REVOKED', effectiveAt: (SAMPLES.licences as { issuedAt: number }).issuedAt + 86_400_000 };
    expect(await decoder.decodeLicence(await enc.encode('licences', revoked))).toEqual(revoked);
    const fromOld = await decoder.decodeLicence(oldRecord);
    expect(fromOld?.effectiveAt ?? null).toBeNull();
    expect(fromOld).toMatchObject(before);
  });

  it('registers new subjects from several instances starting at once: each gets the ids, the subject keeps one version', async () => {
    // Every instance sets the new subject's compatibility after registering; Apicurio refuses all
    // but the first of those with a 409, which must not fail the others.
    const own = topicNames(`it-codec-race-${randomUUID().slice(0, 8)}`);
    const instances = [1, 2, 3, 4].map(() => createEncoder({ registry: new SchemaRegistry({ host: REGISTRY_URL }), topicNames: own }));
    const results = await Promise.all(instances.map((enc) => enc.registerSchemas()));
    for (const ids of results.slice(1)) expect(ids).toEqual(results[0]);
    for (const kind of SCHEMA_KINDS) {
      const versions = (await fetch(`${REGISTRY_URL}/subjects/${valueSubject(own[kind])}/versions`).then((r) => r.json())) as number[];
      expect(versions).toHaveLength(1);
      const config = (await fetch(`${REGISTRY_URL}/config/${valueSubject(own[kind])}`).then((r) => r.json())) as { compatibilityLevel: string };
      expect(config.compatibilityLevel).toBe('BACKWARD');
    }
  });
});
