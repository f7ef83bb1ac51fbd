/**
 * Writes recordings and labels as JSON Lines. Lines are serialised one at a time into a chunk of
 * about a megabyte and written with backpressure, so a run of millions of records never holds more
 * than one chunk of text, and the records themselves can come from a generator. The file appears
 * only when complete (see openOutputFile); a path that cannot be written is refused in one line.
 */
import { openOutputFile } from '../cli/output-file.ts';
import { simulateRecords, type SimOutcome, type SimulateOptions } from './simulate.ts';
import type { Label, RecordingLine } from './types.ts';

const CHUNK_CHARS = 1 << 20;

async function writeLines<T>(path: string, what: string, items: Iterable<T> | AsyncIterable<T>): Promise<number> {
  const out = await openOutputFile(path, what);
  let chunk = '';
  let count = 0;
  try {
    for await (const item of items) {
      chunk += `${JSON.stringify(item)}\n`;
      count += 1;
      if (chunk.length >= CHUNK_CHARS) {
        await out.write(chunk);
        chunk = '';
      }
    }
    if (chunk.length > 0) await out.write(chunk);
    await out.commit();
  } catch (err) {
    await out.abort();
    throw err;
  }
  return count;
}

/** Writes recording lines in the order given (the replay reads them in file order). Returns the count. */
export function writeRecording(path: string, lines: Iterable<RecordingLine> | AsyncIterable<RecordingLine>): Promise<number> {
  return writeLines(path, 'recording', lines);
}

export function writeLabels(path: string, labels: Iterable<Label> | AsyncIterable<Label>): Promise<number> {
  return writeLines(path, 'labels', labels);
}

/**
 * Runs a simulation straight to files without collecting it: records stream to `recordingPath` as
 * they are generated, labels are written at the end (they are few).
 */
/**
 * A simulation as a plain iterable of its records, for sinks that take one (a file, Kafka); the
 * labels and stats are there once the iterable has been read to its end.
 */
export function streamSimulation(options: SimulateOptions): { lines: Iterable<RecordingLine>; outcome(): SimOutcome } {
  const run = simulateRecords(options);
  let outcome: SimOutcome | undefined;
  const lines: Iterable<RecordingLine> = {
    [Symbol.iterator]: () => ({
      next: () => {
        const step = run.next();
        if (step.done) {
          outcome = step.value;
          return { done: true, value: undefined };
        }
        return { done: false, value: step.value };
      },
    }),
  };
  return {
    lines,
    outcome() {
      if (!outcome) throw new Error('the simulation has not run to its end yet');
      return outcome;
    },
  };
}

/**
 * Runs a simulation straight to files without collecting it: records stream to `recordingPath` as
 * they are generated, labels are written at the end (they are few).
 */
export async function writeSimulation(options: SimulateOptions, paths: { recordingPath: string; labelsPath?: string }): Promise<SimOutcome> {
  const sim = streamSimulation(options);
  await writeRecording(paths.recordingPath, sim.lines);
  const outcome = sim.outcome();
  if (paths.labelsPath) await writeLabels(paths.labelsPath, outcome.labels);
  return outcome;
}
