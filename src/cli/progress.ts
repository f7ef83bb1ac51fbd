/** A progress line on a terminal (stderr), silent when output is piped so logs stay clean. */
export interface Progress {
  update(done: number, extra?: string): void;
  finish(): void;
}

export function createProgress(total: number, label: string, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!stream.isTTY || total <= 0) return { update() {}, finish() {} };
  let last = 0;
  const started = Date.now();
  return {
    update(done, extra = '') {
      const now = Date.now();
      if (now - last < 100) return;
      last = now;
      const ratio = Math.min(1, done / total);
      const width = 30;
      const filled = Math.round(ratio * width);
      const elapsed = (now - started) / 1000;
      const eta = ratio > 0 ? elapsed / ratio - elapsed : 0;
      stream.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${extra}  eta ${eta.toFixed(0)}s   `);
    },
    finish() {
      stream.write('\r\x1b[K');
    },
  };
}
