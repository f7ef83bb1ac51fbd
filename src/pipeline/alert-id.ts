import { createHash } from 'node:crypto';

/**
 * The same finding always gets the same id, across replays, restarts and instances: the id is a
 * hash of the rule and the rule's finding key, never of time or arrival order.
 */
export function alertIdFor(ruleId: string, findingKey: string): string {
  return createHash('sha256').update(`${ruleId}\u0000${findingKey}`).digest('hex').slice(0, 32);
}
