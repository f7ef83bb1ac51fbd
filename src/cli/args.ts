/** Small helpers over node:util parseArgs so every command parses and explains itself the same way. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ReeError } from '../errors.ts';

export type Options = NonNullable<ParseArgsConfig['options']>;

export interface ParsedCommandArgs {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses a command's arguments; a mistake is refused with REE_ERR_USAGE, its message the one line
 * that says what is wrong, then the command's usage (main.ts prints the line last). `maxPositionals`:
 * how many plain arguments the command takes (a recording, `check <file>`); more are refused, not
 * ignored, so `rules check a.yaml b.yaml` does not pass having read only the first.
 */
export function parseCommandArgs(argv: string[], options: Options, usage: string, maxPositionals = 0): ParsedCommandArgs {
  const all: Options = { help: { type: 'boolean', short: 'h' }, ...options };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: withNegativeValues(argv, all), options: all, allowPositionals: true, strict: true });
  } catch (err) {
    throw new ReeError('REE_ERR_USAGE', `${usageMistake(err as Error & { code?: string }, all)}\n\n${usage}`);
  }
  if (parsed.positionals.length > maxPositionals) {
    const extra = parsed.positionals.slice(maxPositionals).map((p) => `"${p}"`).join(', ');
    const takes = maxPositionals === 0 ? 'takes no arguments besides its options' : `takes at most ${maxPositionals} argument${maxPositionals === 1 ? '' : 's'} besides its options`;
    throw new ReeError('REE_ERR_USAGE', `unexpected ${extra}: this command ${takes}\n\n${usage}`);
  }
  return { values: parsed.values as ParsedCommandArgs['values'], positionals: parsed.positionals };
}

/**
 * `--days -1` as `--days=-1`: parseArgs takes a value starting with a dash for an option left
 * without its value, and its message then advises quoting; joined, the option's own check says
 * what is wrong with -1.
 */
function withNegativeValues(argv: string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i += 1) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${arg}=${next}`);
      i += 1;
    } else out.push(arg);
  }
  return out;
}

/** parseArgs's error as one line: an unknown option with the nearest known one, others as parseArgs says them. */
function usageMistake(err: Error & { code?: string }, options: Options): string {
  const unknown = err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? /Unknown option '([^']+)'/.exec(err.message)?.[1] : undefined;
  if (unknown === undefined) return err.message.split('. ')[0]!.replace(/\.$/, '');
  const nearest = nearestOption(unknown.replace(/^-+/, ''), Object.keys(options));
  return `unknown option ${unknown}${nearest ? ` (did you mean --${nearest}?)` : ''}`;
}

/** The known option within two edits of `name`, or that `name` begins (`--out` for `--ou`); the closest wins. */
function nearestOption(name: string, known: readonly string[]): string | undefined {
  let best: { option: string; distance: number } | undefined;
  for (const option of known) {
    const distance = option.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, option);
    if (distance <= 2 && (!best || distance < best.distance)) best = { option, distance };
  }
  return best?.option;
}

/** Levenshtein distance: the fewest single-character insertions, deletions and substitutions from a to b. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    previous = current;
  }
  return previous[b.length]!;
}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new ReeError('REE_ERR_USAGE', `--${name} must be a whole number >= ${min}, got "${value}"`);
  return n;
}
