/**
 * The rules watcher on a real file system, saved the way Kubernetes updates a mounted ConfigMap:
 * `rules.yaml` is a symlink to `..data/rules.yaml`, and `..data` is itself a symlink that is
 * swapped (by a rename) to a new timestamped folder. The file's own inode never changes, so only a
 * watch on the folder sees the update.
 */
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { watchRulesFile } from '../../src/config/rules-watcher.ts';
import { waitUntil } from '../helpers/stack-env.ts';

describe('rules watcher with a ConfigMap-style mount', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ree-configmap-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  let version = 0;
  /** What the kubelet does: a new folder, a temporary symlink to it, renamed over `..data`. */
  function publish(text: string): void {
    version += 1;
    const folder = `..2025_06_0${version}`;
    mkdirSync(join(dir, folder));
    writeFileSync(join(dir, folder, 'rules.yaml'), text);
    symlinkSync(folder, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  }

  it('calls back once per new content, and not for a swap that changes nothing', async () => {
    publish('version: 1\n# first\n');
    symlinkSync(join('..data', 'rules.yaml'), join(dir, 'rules.yaml'));
    let changes = 0;
    const watcher = watchRulesFile(join(dir, 'rules.yaml'), () => (changes += 1), { debounceMs: 50 });
    try {
      publish('version: 1\n# second\n');
      await waitUntil(() => changes === 1, { timeoutMs: 5_000, what: 'the first update' });
      publish('version: 1\n# third\n');
      await waitUntil(() => changes === 2, { timeoutMs: 5_000, what: 'the second update' });
      publish('version: 1\n# third\n');
      // The same content again: give the watcher time to react, then check it did not.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(changes).toBe(2);
    } finally {
      watcher.close();
    }
  });
});
