/**
 * The schema registry client every command uses: @kafkajs/confluent-schema-registry with a deadline
 * on each HTTP request and the calls we make retried.
 *
 * The library sets no request timeout (its HTTP layer, mappersmith, waits as long as the socket
 * stays open), so one request the registry never answers (a connection that went silent, a
 * request lost on the way) held a start-up until its 12 s deadline and then failed it, and would
 * hold a consumer's batch for good. With a deadline the request is aborted and its socket
 * destroyed, so the connection is never reused; the call is then made again on a new one. Every
 * call made here is idempotent (registering a schema the subject already holds returns its id).
 */
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import { retry } from '../ops/retry.ts';

/** What the codec asks of a registry (encode.ts and decode.ts narrow it further). */
export type RegistryCalls = Pick<SchemaRegistry, 'register' | 'getRegistryIdBySchema' | 'getSchema'>;

export interface RegistryClientOptions {
  /**
   * How long one HTTP request may go without an answer before it is abandoned (default 3 s).
   * Apicurio answers in milliseconds when well, and in up to ~2.5 s when just started on a loaded
   * machine.
   */
  requestTimeoutMs?: number;
  /**
   * How long a call keeps being retried after failures that may pass (no answer, a refused
   * connection, a 5xx) before the last failure is thrown (default 8 s): under the 12 s a start-up
   * step is given, so an absent registry still fails with its own reason, not a bare timeout.
   */
  retryForMs?: number;
}

type Middlewares = NonNullable<ConstructorParameters<typeof SchemaRegistry>[0]['middlewares']>;

/** Registry answers that a retry would only repeat: not found, conflict, unprocessable, refused credentials. */
const ANSWERS = new Set([401, 403, 404, 409, 422]);

/**
 * Whether a failed call may succeed if made again. The client reports every failure without an
 * HTTP answer (timeout, refused or reset connection) as status 400 (RegistryUnreachableError here
 * keeps it), so 400 counts as one; the library's own refusals (a compatibility level other than
 * ours) carry no status and are answers.
 */
export function isTransientRegistryFailure(err: unknown): boolean {
  const status = typeof err === 'object' && err !== null && 'status' in err ? (err as { status: unknown }).status : undefined;
  if (typeof status !== 'number') return false;
  return !ANSWERS.has(status);
}

/**
 * A registry call that got no HTTP answer: a refused or reset connection, an unknown host, or no
 * answer within the request deadline. The client reports these as a response with status 400 and
 * the network error as its body ("Error, status 400: connect ECONNREFUSED …"), which reads as if the
 * registry had refused the request. The message here is the network error alone. `status` stays
 * 400 for the callers that tell a registry in trouble (any status) from an unusable schema (none).
 */
export class RegistryUnreachableError extends Error {
  override readonly name = 'RegistryUnreachableError';
  readonly status = 400;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The body the client gives a request that failed without an answer, after "Error, status 400: ". */
const NO_ANSWER = /(?:^|\s-\s)Error, status 400: (.*)$/s;
/** Node's network errors ("connect ECONNREFUSED 127.0.0.1:8081", "socket hang up") and the client's timeout. */
const NETWORK_ERROR = /^(?:(?:connect|read|write|getaddrinfo|queryA|querySrv) )?E[A-Z_]+\b|^socket hang up|^Client network socket disconnected|^Timeout \((\d+)ms\)/;

/**
 * The failure as a RegistryUnreachableError when it is a network error dressed as HTTP 400;
 * anything else (a real answer, the library's own refusals) as it is.
 */
export function withoutFakeStatus(err: unknown): unknown {
  if (!(err instanceof Error) || (err as { status?: unknown }).status !== 400) return err;
  const body = NO_ANSWER.exec(err.message)?.[1]?.trim();
  const network = body === undefined ? null : NETWORK_ERROR.exec(body);
  if (body === undefined || !network) return err;
  const timeoutMs = network[1];
  return new RegistryUnreachableError(timeoutMs === undefined ? body : `no answer within ${Number(timeoutMs) / 1000} s`, { cause: err });
}

export function createRegistryClient(host: string, options: RegistryClientOptions = {}): RegistryCalls {
  const requestTimeoutMs = options.requestTimeoutMs ?? 3_000;
  const retryForMs = options.retryForMs ?? 8_000;
  const requestDeadline: Middlewares[number] = () => ({
    async prepareRequest(next) {
      const request = await next();
      return request.enhance({ timeout: requestTimeoutMs });
    },
  });
  const registry = new SchemaRegistry({ host, middlewares: [requestDeadline] });

  const retried = <T>(call: () => Promise<T>): Promise<T> => {
    const giveUpAt = Date.now() + retryForMs;
    return retry(() => call().catch((err: unknown) => Promise.reject(withoutFakeStatus(err))), {
      retries: Number.MAX_SAFE_INTEGER,
      minDelayMs: 100,
      maxDelayMs: 1_000,
      // A failure that took the call past its time is the one reported.
      isRetriable: (err) => isTransientRegistryFailure(err) && Date.now() < giveUpAt,
    });
  };

  // register is overloaded (Avro, JSON Schema, Protobuf); its arguments go through untouched.
  const register = registry.register.bind(registry) as (...args: unknown[]) => ReturnType<SchemaRegistry['register']>;
  return {
    register: ((...args: unknown[]) => retried(() => register(...args))) as SchemaRegistry['register'],
    getRegistryIdBySchema: (subject, schema) => retried(() => registry.getRegistryIdBySchema(subject, schema)),
    getSchema: (id) => retried(() => registry.getSchema(id)),
  };
}
