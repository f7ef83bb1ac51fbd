/** `ree-sentinel rules check [file]`: validate a rules file and show what would run. */
import { loadRulesFile, type RuleSet } from '../config/rules-file.ts';
import { ReeError } from '../errors.ts';
import { parseCommandArgs } from './args.ts';

export const RULES_USAGE = `Usage: ree-sentinel rules check [rules.yaml] [--json]

Validates a rules file (default: REE_RULES_FILE, else the built-in defaults) and prints the
effective parameters of every rule, its severity bands and its overrides. Exits 2 with the line
and field at fault when the file is invalid.

Options:
  --json       print the effective rules as JSON
  -h, --help   this help`;

export function describeRuleSet(set: RuleSet): Record<string, unknown> {
  return Object.fromEntries(
    set.rules.map((s) => [
      s.rule.id,
      { version: s.rule.version, enabled: s.enabled('*'), params: s.defaults, bands: s.bands, overrides: s.overrides, description: s.rule.description },
    ]),
  );
}

export async function rulesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseCommandArgs(argv, { json: { type: 'boolean' } }, RULES_USAGE, Number.POSITIVE_INFINITY);
  if (values.help || positionals.length === 0) {
    console.log(RULES_USAGE);
    return values.help ? 0 : 1;
  }
  if (positionals[0] !== 'check') throw new ReeError('REE_ERR_USAGE', `unknown rules subcommand "${positionals[0]}"\n\n${RULES_USAGE}`);
  if (positionals.length > 2) throw new ReeError('REE_ERR_USAGE', `rules check reads one rules file, got ${positionals.length - 1}: check each on its own\n\n${RULES_USAGE}`);
  const set = loadRulesFile(positionals[1] ?? process.env.REE_RULES_FILE);
  const described = describeRuleSet(set);
  if (values.json) {
    console.log(JSON.stringify({ source: set.source, rules: described }, null, 2));
    return 0;
  }
  console.log(`${set.source}: OK, ${set.rules.length} rules`);
  for (const [id, d] of Object.entries(described) as [string, { version: number; enabled: boolean; params: object; bands: object; overrides: unknown[] }][]) {
    console.log(`\n${id} v${d.version} ${d.enabled ? 'enabled' : 'DISABLED'}`);
    for (const [k, v] of Object.entries(d.params)) console.log(`  ${k.padEnd(24)} ${JSON.stringify(v)}`);
    console.log(`  ${'severity bands'.padEnd(24)} ${Object.entries(d.bands).map(([s, x]) => `${s}>=${x}`).join(' ')}`);
    for (const o of d.overrides) console.log(`  override ${JSON.stringify(o)}`);
  }
  return 0;
}
