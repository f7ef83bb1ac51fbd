/**
 * An output file that appears only when complete: written as `<path>.partial`, renamed over `path`
 * on success, removed on failure. A failed run never leaves a truncated file where a good one was,
 * and a path that cannot be written is refused before any work starts.
 */
import { createWriteStream, renameSync, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { ReeError } from '../errors.ts';

export interface OutputFile {
  stream: WriteStream;
  /** Writes with backpressure. */
  write(text: string): Promise<void>;
  /** Flushes, then moves the file into place. */
  commit(): Promise<void>;
  /** Drops the partial file. */
  abort(): Promise<void>;
}

/** A device or pipe (`/dev/null`, `/dev/stdout`, a FIFO) is written in place: renaming over one would replace it with a file. */
export function isSpecialFile(path: string): boolean {
  try {
    const stat = statSync(path);
    return !stat.isFile() && !stat.isDirectory();
  } catch {
    return false;
  }
}

export async function openOutputFile(path: string, what = 'output'): Promise<OutputFile> {
  const inPlace = isSpecialFile(path);
  const partial = inPlace ? path : `${path}.partial`;
  // The system's message names the file it opened, the .partial one the user never chose.
  const asTheUserNamedIt = (err: Error) => err.message.replaceAll(`'${partial}'`, `'${path}'`);
  const stream = createWriteStream(partial);
  let failure: Error | undefined;
  stream.on('error', (err) => {
    failure = err;
  });
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (err) => reject(new ReeError('REE_ERR_OUTPUT_FILE', `cannot write ${what} file ${path}: ${asTheUserNamedIt(err)}`)));
  });
  const check = () => {
    if (failure) throw new ReeError('REE_ERR_OUTPUT_FILE', `writing ${what} file ${path} failed: ${asTheUserNamedIt(failure)}`);
  };
  /** Waits for `event` or an error, whichever comes first, leaving no listener behind for the other. */
  const settled = async (event: string) => {
    const done = new AbortController();
    try {
      await Promise.race([once(stream, event, { signal: done.signal }), once(stream, 'error', { signal: done.signal })]);
    } finally {
      done.abort();
    }
  };
  return {
    stream,
    async write(text) {
      check();
      if (!stream.write(text)) await settled('drain').catch(() => undefined);
      check();
    },
    async commit() {
      check();
      stream.end();
      await settled('finish').catch(() => undefined);
      check();
      if (!inPlace) renameSync(partial, path);
    },
    async abort() {
      stream.destroy();
      if (!inPlace) rmSync(partial, { force: true });
    },
  };
}
