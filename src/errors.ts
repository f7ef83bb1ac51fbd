/**
 * One error hierarchy for the whole detector. Every error has a stable code a user can search for,
 * a `retriable` flag the retrier obeys, and optional context (topic, partition, offset, field...).
 */
export type ErrorCode =
  | 'REE_ERR_CONFIG'
  | 'REE_ERR_RULES_FILE'
  | 'REE_ERR_DECODE'
  | 'REE_ERR_VALIDATION'
  | 'REE_ERR_UNKNOWN_SCHEMA'
  | 'REE_ERR_STATE'
  | 'REE_ERR_FENCED'
  | 'REE_ERR_KAFKA'
  | 'REE_ERR_UNAVAILABLE'
  | 'REE_ERR_USAGE'
  | 'REE_ERR_INPUT_FILE'
  | 'REE_ERR_OUTPUT_FILE';

export class ReeError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly context: Record<string, unknown>;

  constructor(
    code: ErrorCode,
    message: string,
    options: { retriable?: boolean; context?: Record<string, unknown>; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReeError';
    this.code = code;
    this.retriable = options.retriable ?? false;
    this.context = options.context ?? {};
  }
}

/** Bad input: the record goes to the dead-letter topic with this message; never retried. */
export class InvalidRecordError extends ReeError {
  constructor(code: 'REE_ERR_DECODE' | 'REE_ERR_VALIDATION' | 'REE_ERR_UNKNOWN_SCHEMA', message: string) {
    super(code, message, { retriable: false });
    this.name = 'InvalidRecordError';
  }
}

/** Bad settings or rules: refused at start or reload with a message naming what is wrong. */
export class ConfigError extends ReeError {
  constructor(message: string, code: 'REE_ERR_CONFIG' | 'REE_ERR_RULES_FILE' = 'REE_ERR_CONFIG') {
    super(code, message, { retriable: false });
    this.name = 'ConfigError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
