/**
 * Reloads the rules file on a change or SIGHUP, from the moment start-up begins. Reaching Kafka, the
 * registry and Redis and loading the licence register can take a minute or more; a file saved in
 * that time is applied as soon as the pipeline exists instead of being missed, and a SIGHUP then
 * is not Node's default action (which ends the process).
 */
import { existsSync } from 'node:fs';
import type { Logger } from '../ops/logger.ts';
import { errorMessage } from '../errors.ts';
import { loadRulesFile, type RuleSet, type RuleSettings } from './rules-file.ts';

export interface RulesTarget {
  setRules(rules: RuleSet): void;
  /** The rules in force, which a reload is compared with (the pipeline has it). */
  rules?(): RuleSet;
}

/** What of a rule's settings a reload can change. */
export type RuleAspect = 'version' | 'enabled' | 'params' | 'bands' | 'overrides';

export interface RuleChanges {
  /** Rule id → what differs. */
  changed: Record<string, RuleAspect[]>;
  added: string[];
  removed: string[];
}

/** A producer id no override names: enabled() then says what the rule's own entry says. */
const NO_PRODUCER = '\u0000';

/** JSON with object keys sorted, so that reordering a map in the file is no change. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

function aspects(settings: RuleSettings): Record<RuleAspect, string> {
  return {
    version: String(settings.rule.version),
    enabled: String(settings.enabled(NO_PRODUCER)),
    params: canonical(settings.defaults),
    bands: canonical(settings.bands),
    overrides: canonical(settings.overrides),
  };
}

/** Which rules a reload changes, and how; rules in neither stay out. */
export function ruleChanges(before: RuleSet, after: RuleSet): RuleChanges {
  const was = new Map(before.rules.map((s) => [s.rule.id as string, s]));
  const now = new Map(after.rules.map((s) => [s.rule.id as string, s]));
  const changed: Record<string, RuleAspect[]> = {};
  for (const [id, next] of now) {
    const prev = was.get(id);
    if (!prev) continue;
    const a = aspects(prev);
    const b = aspects(next);
    const differ = (Object.keys(a) as RuleAspect[]).filter((k) => a[k] !== b[k]);
    if (differ.length > 0) changed[id] = differ;
  }
  return {
    changed,
    added: [...now.keys()].filter((id) => !was.has(id)),
    removed: [...was.keys()].filter((id) => !now.has(id)),
  };
}

export interface RulesReloader {
  /** Loads the file and hands it to the target, or remembers to once there is one. */
  reload(): void;
  /** The pipeline now exists: a reload asked for before this happens now. */
  attach(target: RulesTarget): void;
}

export function createRulesReloader(rulesFile: string | undefined, logger: Logger): RulesReloader {
  let target: RulesTarget | undefined;
  let pending = false;
  /** The rules last handed over, for a target that cannot say which rules it runs. */
  let applied: RuleSet | undefined;
  const reload = () => {
    if (!target) {
      pending = true;
      return;
    }
    let rules: RuleSet;
    try {
      rules = loadRulesFile(rulesFile);
    } catch (err) {
      if (rulesFile && !existsSync(rulesFile)) {
        // Deleted (or its folder unmounted): nothing to reload, and a restart would now refuse to start.
        logger.warn({ rulesFile }, 'rules file is gone; keeping the running rules (a restart would refuse to start until it is back)');
        return;
      }
      // A bad file never replaces good rules: the running set stays as it was.
      logger.error({ err: errorMessage(err) }, 'rules file refused; keeping the running rules');
      return;
    }
    const before = target.rules?.() ?? applied;
    target.setRules(rules);
    applied = rules;
    if (!before) {
      logger.info({ rules: rules.source }, 'rules reloaded');
      return;
    }
    const { changed, added, removed } = ruleChanges(before, rules);
    const unchanged = Object.keys(changed).length === 0 && added.length === 0 && removed.length === 0;
    logger.info(
      { rules: rules.source, changed, ...(added.length > 0 && { added }), ...(removed.length > 0 && { removed }) },
      unchanged ? 'rules reloaded; no rule changed' : `rules reloaded; changed: ${describe(changed, added, removed)}`,
    );
  };
  return {
    reload,
    attach(next) {
      target = next;
      if (pending) {
        pending = false;
        reload();
      }
    },
  };
}

/** "volume-mismatch (params, bands), split-shipments (enabled)", with added and removed rules. */
function describe(changed: Record<string, RuleAspect[]>, added: string[], removed: string[]): string {
  return [
    ...Object.entries(changed).map(([id, what]) => `${id} (${what.join(', ')})`),
    ...added.map((id) => `${id} (added)`),
    ...removed.map((id) => `${id} (removed)`),
  ].join(', ');
}
