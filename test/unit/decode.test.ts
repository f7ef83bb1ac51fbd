import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDecoder, decodeJsonObject, toPlain, validateAlert } from '../../src/codec/decode.ts';
import { encodeAvroBody, encodeJson, frameConfluent } from '../../src/codec/encode.ts';
import { SCHEMA_KINDS, avroSchema, avroType, type SchemaKind } from '../../src/codec/schemas.ts';
import {
  REPORT_SCHEMAS,
  eventTime,
  licence,
  productionQuota,
  watchlistEntry,
  type Alert,
} from '../../src/domain/events.ts';
import { InvalidRecordError } from '../../src/errors.ts';
import { SAMPLES, sampleAlert, sampleLicence, sampleProduction, sampleShipment } from '../helpers/sample-events.ts';

const decoder = createDecoder();
const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

async function failure(promise: Promise<unknown>): Promise<InvalidRecordError> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(InvalidRecordError);
  return err as InvalidRecordError;
}

describe('decode: JSON', () => {
  it('accepts a report with epoch-ms times', async () => {
    await expect(decoder.decodeReport('production', json(sampleProduction))).resolves.toEqual({
      kind: 'production',
      event: sampleProduction,
    });
  });

  it('accepts ISO-8601 times and turns them into epoch ms', async () => {
    const iso = {
      ...sampleShipment,
      occurredAt: new Date(sampleShipment.occurredAt).toISOString(),
      reportedAt: '2025-01-12T10:30:00+01:00',
    };
    const { event } = await decoder.decodeReport('shipments', json(iso));
    expect(event).toMatchObject({ occurredAt: sampleShipment.occurredAt, reportedAt: Date.UTC(2025, 0, 12, 9, 30) });
  });

  it('accepts leading whitespace and a UTF-8 byte order mark', async () => {
    const value = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(' \r\n\t'), json(sampleLicence)]);
    await expect(decoder.decodeLicence(value)).resolves.toEqual(sampleLicence);
  });

  it('refuses a value outside an enum, naming the field', async () => {
    const err = await failure(decoder.decodeReport('production', json({ ...sampleProduction, stage: 'SMELTING' })));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toMatch(/ProductionReport.*stage/);
  });

  it('refuses a negative quantity, naming the field', async () => {
    const err = await failure(decoder.decodeReport('shipments', json({ ...sampleShipment, quantityKg: -5 })));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toContain('quantityKg');
  });

  it('refuses a missing field, naming it', async () => {
    const { hsCode: _dropped, ...missing } = sampleShipment;
    const err = await failure(decoder.decodeReport('shipments', json(missing)));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toContain('hsCode');
  });

  it('names a bad field inside a nested array', async () => {
    const bad = { ...sampleProduction, inputs: [{ material: 'REE_CONCENTRATE', quantityKg: 0 }] };
    const err = await failure(decoder.decodeReport('production', json(bad)));
    expect(err.message).toContain('inputs.0.quantityKg');
  });

  it('refuses a report that happened after it was reported, beyond a day of clock skew, naming the field', async () => {
    const typo = Date.UTC(2205, 0, 12, 9, 30);
    const err = await failure(decoder.decodeReport('shipments', json({ ...sampleShipment, occurredAt: typo })));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toMatch(/^invalid ShipmentReport: occurredAt: after reportedAt by more than a day of clock skew \(2205-01-12T09:30:00.000Z > 2025-01-12T10:30:00.000Z\)$/);
    // A sender's clock a day ahead is tolerated, a millisecond more is not.
    const skewed = { ...sampleProduction, occurredAt: sampleProduction.reportedAt + 86_400_000 };
    await expect(decoder.decodeReport('production', json(skewed))).resolves.toMatchObject({ event: skewed });
    const err2 = await failure(decoder.decodeReport('production', json({ ...skewed, occurredAt: skewed.occurredAt + 1 })));
    expect(err2.message).toContain('occurredAt: after reportedAt');
  });

  it.each([
    ['reportedAt', 'in 2205', { reportedAt: Date.UTC(2205, 0, 12) }],
    ['reportedAt', 'before 2000', { occurredAt: Date.UTC(1999, 11, 30), reportedAt: Date.UTC(1999, 11, 31) }],
    ['occurredAt', 'before 2000', { occurredAt: Date.UTC(1025, 0, 12) }],
  ])('refuses a report whose %s is %s, naming the field', async (field, _when, times) => {
    const err = await failure(decoder.decodeReport('inventory', json({ ...SAMPLES.inventory, ...times })));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toMatch(new RegExp(`\\b${field}: .* is outside 2000-01-01 .. 2100-01-01`));
  });

  it.each([
    ['validFrom', Date.UTC(1999, 0, 1)],
    ['validTo', Date.UTC(2100, 0, 2)],
    ['issuedAt', Date.UTC(1999, 0, 1)],
  ])('refuses a licence whose %s is outside the era, naming the field', async (field, time) => {
    const err = await failure(decoder.decodeLicence(json({ ...sampleLicence, [field]: time })));
    expect(err.code).toBe('REE_ERR_VALIDATION');
    expect(err.message).toMatch(new RegExp(`\\b${field}: .* is outside`));
  });

  it('refuses JSON that does not parse, saying why', async () => {
    const err = await failure(decoder.decode(Buffer.from('{"reportId": "x",')));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toMatch(/^JSON value does not parse: .+/);
  });

  it('refuses invalid UTF-8', async () => {
    const value = Buffer.concat([Buffer.from('{"clientName":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')]);
    const err = await failure(decoder.decode(value));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toContain('not valid UTF-8');
  });
});

describe('decode: neither encoding', () => {
  it.each([
    ['garbage bytes', Buffer.from([0x47, 0x41, 0x52, 0x42, 0xff])],
    ['a JSON array', Buffer.from('[1, 2]')],
    ['a JSON string', Buffer.from('"hello"')],
  ])('refuses %s', async (_name, value) => {
    const err = await failure(decoder.decode(value));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toContain('neither Confluent Avro (magic byte 0) nor a JSON object');
  });

  it.each([
    ['an empty buffer', Buffer.alloc(0)],
    ['only whitespace', Buffer.from('  \n')],
  ])('refuses %s as empty', async (_name, value) => {
    const err = await failure(decoder.decode(value));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toBe('empty value: neither Confluent Avro (magic byte 0) nor a JSON object');
  });
});

describe('decode: Avro framing without a registry', () => {
  it('refuses an Avro record when no registry is configured', async () => {
    const value = frameConfluent(7, encodeAvroBody('production', sampleProduction));
    const err = await failure(decoder.decode(value));
    expect(err.code).toBe('REE_ERR_UNKNOWN_SCHEMA');
    expect(err.message).toContain('Avro record but no schema registry configured');
    expect(err.context.schemaId).toBe(7);
  });

  it('refuses a header shorter than magic byte + schema id', async () => {
    const err = await failure(decoder.decode(Buffer.from([0, 0, 1])));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toContain('truncated Confluent Avro header');
  });
});

describe('decode: tombstones', () => {
  it('passes a null value through decode and as a deleted licence or watchlist entry', async () => {
    await expect(decoder.decode(null)).resolves.toBeNull();
    await expect(decoder.decodeLicence(null)).resolves.toBeNull();
    await expect(decoder.decodeWatchlistEntry(null)).resolves.toBeNull();
  });

  it('refuses a null value on a report topic', async () => {
    const err = await failure(decoder.decodeReport('receipts', null));
    expect(err.code).toBe('REE_ERR_DECODE');
    expect(err.message).toContain('tombstone');
  });
});

describe('decodeBatch', () => {
  it('keeps good records and turns bad ones into outcomes in place', async () => {
    const outcomes = await decoder.decodeBatch(
      [json(sampleProduction), Buffer.from('nope'), null],
      (v) => decoder.decodeReport('production', v),
    );
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, false]);
    expect(outcomes[0]).toEqual({ ok: true, value: { kind: 'production', event: sampleProduction } });
    const second = outcomes[1]!;
    expect(!second.ok && second.error.code).toBe('REE_ERR_DECODE');
  });

  it('rejects the whole batch on an error that is not about the record', async () => {
    const boom = new Error('registry down');
    await expect(decoder.decodeBatch([json({})], () => Promise.reject(boom))).rejects.toBe(boom);
  });
});

describe('decodeReports', () => {
  // Schema 1 is the production schema, 9 is unknown (404), 5 fails as a registry in trouble does.
  let lookups = 0;
  const registry = {
    getSchema: async (id: number) => {
      lookups += 1;
      if (id === 1) return avroType('production');
      throw Object.assign(new Error(`schema ${id}`), { status: id === 9 ? 404 : 500 });
    },
  };
  const withRegistry = createDecoder({ registry: registry as never });
  const avro = frameConfluent(1, encodeAvroBody('production', sampleProduction));
  const mixed = [
    json(sampleProduction),
    avro,
    Buffer.from('nope'),
    null,
    Buffer.from([0xff, 0xfe, 0x7b]),
    Buffer.from([0, 0, 1]),
    frameConfluent(9, encodeAvroBody('production', sampleProduction)),
    json({ ...sampleProduction, quantityKg: -1 }),
    avro,
  ];

  it('gives, record for record, what decodeBatch of decodeReport gives, fetching each schema once', async () => {
    const one = await withRegistry.decodeBatch(mixed, (v) => withRegistry.decodeReport('production', v));
    lookups = 0;
    const fresh = createDecoder({ registry: registry as never });
    const many = await fresh.decodeReports('production', mixed);
    expect(lookups).toBe(2);
    expect(many.map((o) => (o.ok ? o.value : { code: o.error.code, message: o.error.message }))).toEqual(
      one.map((o) => (o.ok ? o.value : { code: o.error.code, message: o.error.message })),
    );
    expect(many.map((o) => o.ok)).toEqual([true, true, false, false, false, false, false, false, true]);
  });

  it('rejects the whole batch while the registry is in trouble', async () => {
    await expect(withRegistry.decodeReports('production', [json(sampleProduction), frameConfluent(5, Buffer.from([2]))])).rejects.toMatchObject({ retriable: true });
  });
});

describe('alerts', () => {
  it('decodes a JSON alert and fills absent optional fields with null', async () => {
    const { clientId: _c, licenceId: _l, windowStart: _s, windowEnd: _e, ...required } = sampleAlert;
    await expect(decoder.decodeAlert(encodeJson(required))).resolves.toEqual({
      ...required,
      clientId: null,
      licenceId: null,
      windowStart: null,
      windowEnd: null,
    });
  });

  it('refuses an alert the Avro schema would refuse, naming the field', () => {
    expect(() => validateAlert({ ...sampleAlert, severity: 'SEVERE' })).toThrow(/invalid Alert: severity/);
    expect(() => encodeAvroBody('alerts', { ...sampleAlert, evidence: { n: 5 } })).toThrow(/cannot encode Alert as Avro: evidence\.n/);
  });
});

describe('toPlain', () => {
  it('turns Dates into epoch ms and class instances into plain objects, at any depth', () => {
    class Rec {
      constructor(readonly at: Date) {}
    }
    const plain = toPlain({ a: new Date(5), list: [new Rec(new Date(6))] });
    expect(plain).toStrictEqual({ a: 5, list: [{ at: 6 }] });
  });
});

describe('Avro schemas', () => {
  it.each(SCHEMA_KINDS)('%s: accepts a valid event and round-trips it with times as numbers', (kind) => {
    const type = avroType(kind);
    const sample = SAMPLES[kind];
    expect(type.isValid(sample)).toBe(true);
    const back = toPlain(type.fromBuffer(type.toBuffer(sample)));
    expect(back).toStrictEqual(sample);
  });

  it.each(SCHEMA_KINDS)('%s: lives in namespace ree.sentinel.v1', (kind) => {
    expect(avroSchema(kind).namespace).toBe('ree.sentinel.v1');
  });
});

// ---- field parity between the zod schemas (the source of truth) and the .avsc files ----

type AvroField = { name: string; type: unknown; default?: unknown };
type AvroNode = string | AvroNode[] | { type: string; [k: string]: unknown };
type Described = { name: string; optional: boolean; kind: string; symbols?: string[]; fields?: Described[] };

function describeAvroField(field: AvroField): Described {
  let type = field.type as AvroNode;
  let optional = false;
  if (Array.isArray(type)) {
    const others = type.filter((t) => t !== 'null');
    optional = others.length === type.length - 1 && type[0] === 'null' && field.default === null;
    expect(others, `${field.name}: a union is only ever ["null", T]`).toHaveLength(1);
    type = others[0]!;
  }
  return { name: field.name, optional, ...describeAvroType(type) };
}

function describeAvroType(type: AvroNode): Omit<Described, 'name' | 'optional'> {
  if (typeof type === 'string') return { kind: type === 'string' ? 'string' : type === 'double' || type === 'int' ? 'number' : type };
  if (Array.isArray(type)) throw new Error('nested union');
  if (type.logicalType === 'timestamp-millis' && type.type === 'long') return { kind: 'time' };
  if (type.type === 'enum') return { kind: 'enum', symbols: type.symbols as string[] };
  if (type.type === 'array') return { kind: `array of ${JSON.stringify(describeAvroType(type.items as AvroNode))}` };
  if (type.type === 'map') return { kind: `map of ${JSON.stringify(describeAvroType(type.values as AvroNode))}` };
  if (type.type === 'record') {
    return { kind: 'record', fields: (type.fields as AvroField[]).map(describeAvroField) };
  }
  return { kind: type.type };
}

function describeZodField(name: string, schema: z.ZodType): Described {
  let inner: z.ZodType = schema;
  let optional = false;
  while (inner instanceof z.ZodOptional || inner instanceof z.ZodNullable) {
    optional = true;
    inner = inner.unwrap() as z.ZodType;
  }
  return { name, optional, ...describeZodType(inner) };
}

function describeZodType(schema: z.ZodType): Omit<Described, 'name' | 'optional'> {
  if (schema === eventTime) return { kind: 'time' };
  if (schema instanceof z.ZodString) return { kind: 'string' };
  if (schema instanceof z.ZodNumber) return { kind: 'number' };
  if (schema instanceof z.ZodEnum) return { kind: 'enum', symbols: schema.options as string[] };
  if (schema instanceof z.ZodArray) return { kind: `array of ${JSON.stringify(describeZodType(schema.element as z.ZodType))}` };
  if (schema instanceof z.ZodObject) return { kind: 'record', fields: describeZodShape(schema) };
  throw new Error(`no parity mapping for zod type ${schema.constructor.name}`);
}

function describeZodShape(schema: z.ZodObject): Described[] {
  return Object.entries(schema.shape).map(([name, field]) => describeZodField(name, field as z.ZodType));
}

const ZOD_BY_KIND: Record<Exclude<SchemaKind, 'alerts'>, z.ZodObject> = {
  production: REPORT_SCHEMAS.production,
  shipments: REPORT_SCHEMAS.shipments,
  receipts: REPORT_SCHEMAS.receipts,
  inventory: REPORT_SCHEMAS.inventory,
  licences: licence,
  watchlist: watchlistEntry,
  quotas: productionQuota,
};

const byName = (fields: Described[]) => [...fields].sort((a, b) => a.name.localeCompare(b.name));

describe('Avro schemas match the zod schemas field for field', () => {
  it.each(Object.keys(ZOD_BY_KIND) as (keyof typeof ZOD_BY_KIND)[])('%s', (kind) => {
    const avro = (avroSchema(kind).fields as AvroField[]).map(describeAvroField);
    expect(byName(avro)).toEqual(byName(describeZodShape(ZOD_BY_KIND[kind])));
  });

  it('alerts: the Alert interface, optional fields included', () => {
    // The compiler checks this object lists exactly Alert's optional keys.
    type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];
    const optional: Record<OptionalKeys<Alert>, true> = { clientId: true, licenceId: true, windowStart: true, windowEnd: true, revision: true };
    const avro = (avroSchema('alerts').fields as AvroField[]).map(describeAvroField);
    expect(avro.map((f) => f.name).sort()).toEqual(Object.keys(sampleAlert).sort());
    expect(avro.filter((f) => f.optional).map((f) => f.name).sort()).toEqual(Object.keys(optional).sort());
    expect(avro.find((f) => f.name === 'severity')?.symbols).toEqual(['LOW', 'MEDIUM', 'HIGH', 'CRITICAL']);
    expect(avro.filter((f) => f.kind === 'time').map((f) => f.name).sort()).toEqual(
      ['detectedAt', 'eventTime', 'windowEnd', 'windowStart'],
    );
  });
});
