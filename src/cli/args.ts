/** Small helpers over node:util parseArgs so every command parses and explains itself the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ReeError } from '../errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

export function parseCommandArgs(argv: string[], options: Options, usage: string): ParsedCommandArgs {
  try {
    const parsed = parseArgs({ args: argv, options: { help: { type: 'boolean', short: 'h' }, ...options }, allowPositionals: true, strict: true });
    return { values: parsed.values as ParsedCommandArgs['values'], positionals: parsed.positionals };
  } catch (err) {
    throw new ReeError('REE_ERR_USAGE', `${(err as Error).message}\n\n${usage}`);
  }
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ReeError('REE_ERR_USAGE', `--${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
}
