/** Reading alerts and labels files (JSON Lines), with errors that name the file and line. */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { ReeError } from '../errors.ts';
import type { Label, ScoredAlert } from './score.ts';

async function readJsonLines<T>(path: string, what: string, check: (o: Record<string, unknown>) => string | null): Promise<T[]> {
  const out: T[] = [];
  const stream = createReadStream(path, 'utf8');
  const opened = new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new ReeError('REE_ERR_INPUT_FILE', `cannot read ${what} file ${path}: ${err.message}`)));
  });
  await opened;
  let lineNo = 0;
  for await (const raw of createInterface({ input: stream, crlfDelay: Infinity })) {
    lineNo += 1;
    if (raw.trim() === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(raw);
    } catch (err) {
      throw new ReeError('REE_ERR_INPUT_FILE', `${path}:${lineNo}: not JSON: ${(err as Error).message}`);
    }
    const problem = typeof o === 'object' && o !== null ? check(o as Record<string, unknown>) : 'not a JSON object';
    if (problem) throw new ReeError('REE_ERR_INPUT_FILE', `${path}:${lineNo}: not a ${what}: ${problem}`);
    out.push(o as T);
  }
  return out;
}

const needs = (o: Record<string, unknown>, fields: string[]): string | null => {
  for (const f of fields) {
    if (f === 'subjectEventIds' ? !Array.isArray(o[f]) : typeof o[f] !== 'string') return `${f} is missing or of the wrong type`;
  }
  return null;
};

export const readAlertsFile = (path: string) => readJsonLines<ScoredAlert>(path, 'alert', (o) => needs(o, ['alertId', 'ruleId', 'producerId', 'subjectEventIds']));
export const readLabelsFile = (path: string) => readJsonLines<Label>(path, 'label', (o) => needs(o, ['anomalyId', 'ruleId', 'producerId', 'subjectEventIds']));
