/**
 * Reloads the rules file on a change or SIGHUP, from the moment start-up begins. Reaching Kafka, the
 * registry and Redis and loading the licence register can take a minute or more; a file saved in
 * that time is applied as soon as the pipeline exists instead of being missed, and a SIGHUP then
 * is not Node's default action (which ends the process).
 */
import type { Logger } from '../ops/logger.ts';
import { errorMessage } from '../errors.ts';
import { loadRulesFile, type RuleSet } from './rules-file.ts';

export interface RulesTarget {
  setRules(rules: RuleSet): void;
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
  const reload = () => {
    if (!target) {
      pending = true;
      return;
    }
    try {
      const rules = loadRulesFile(rulesFile);
      target.setRules(rules);
      logger.info({ rules: rules.source }, 'rules reloaded');
    } catch (err) {
      // A bad file never replaces good rules: the running set stays as it was.
      logger.error({ err: errorMessage(err) }, 'rules file refused; keeping the running rules');
    }
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
