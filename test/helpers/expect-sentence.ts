import { expect } from 'vitest';

/**
 * An alert summary is read in a list by a person: one plain sentence, no line breaks, no second
 * sentence after a full stop. Decimal points ("10.05 t") are not sentence ends.
 */
export function expectOneSentence(text: string): void {
  expect(text).not.toMatch(/\n/);
  expect(text).toMatch(/^[A-Z0-9].*\.$/);
  expect(text).not.toMatch(/[.!?]\s+[A-Z]/);
}
