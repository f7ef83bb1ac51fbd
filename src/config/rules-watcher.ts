/**
 * Calls back when the rules file's content changes, however it was saved. Editors and Kubernetes
 * ConfigMaps replace a file by renaming another over it (a ConfigMap swaps a `..data` symlink), and
 * a watch on the file itself follows the old inode and goes quiet after the first rename; so the
 * directory is watched, and any event in it compares the file's text with what was last seen.
 *
 * A file that is gone once the events have settled is a change too: the callback runs (the reloader
 * then warns that the rules in force stay, as a restart would refuse to start without the file),
 * and again when a file is back, whatever its text.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';

export interface RulesWatcher {
  close(): void;
}

export interface RulesWatcherOptions {
  /** Quiet time after the last event before the file is read (a save is several events). */
  debounceMs?: number;
  onError?: (err: unknown) => void;
}

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    // Between an editor's delete and its write the file may be missing: the debounce lets the
    // write come first; a file still missing after it is reported (see check).
    return null;
  }
}

export function watchRulesFile(path: string, onChange: () => void, options: RulesWatcherOptions = {}): RulesWatcher {
  const file = resolve(path);
  let lastSeen = readOrNull(file);
  let debounce: NodeJS.Timeout | undefined;
  const check = () => {
    const text = readOrNull(file);
    if (text === lastSeen) return;
    lastSeen = text;
    onChange();
  };
  const watcher: FSWatcher = watch(dirname(file), () => {
    clearTimeout(debounce);
    debounce = setTimeout(check, options.debounceMs ?? 200);
  });
  watcher.on('error', (err) => options.onError?.(err));
  return {
    close() {
      clearTimeout(debounce);
      watcher.close();
    },
  };
}
