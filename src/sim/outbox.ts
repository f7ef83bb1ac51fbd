/**
 * Puts generated records into stream order (timestamp, then creation order) without holding the
 * whole run: a report is made on its event day and reaches the stream hours to two days later, so
 * once day D is generated nothing still to come can have a timestamp before the start of day D+1.
 * Everything older than that is final and can be handed out.
 */
import type { RecordingLine } from './types.ts';

interface Entry {
  line: RecordingLine;
  seq: number;
}

const byStreamOrder = (a: Entry, b: Entry): number => a.line.timestamp - b.line.timestamp || a.seq - b.seq;

export class Outbox {
  private pending: Entry[] = [];
  /** Reference records made up front (licences), already in order, handed out as time reaches them. */
  private preset: Entry[] = [];
  private presetAt = 0;
  private seq = 0;

  /** Records known before the run starts; on equal timestamps they go first. */
  preload(lines: RecordingLine[]): void {
    this.preset = lines.map((line) => ({ line, seq: this.seq++ })).sort(byStreamOrder);
  }

  push(line: RecordingLine): void {
    this.pending.push({ line, seq: this.seq++ });
  }

  /** Removes and returns, in stream order, every record with a timestamp before `limit`. */
  takeBefore(limit: number): RecordingLine[] {
    const ready: Entry[] = [];
    const keep: Entry[] = [];
    for (const e of this.pending) (e.line.timestamp < limit ? ready : keep).push(e);
    this.pending = keep;
    while (this.presetAt < this.preset.length && this.preset[this.presetAt]!.line.timestamp < limit) {
      ready.push(this.preset[this.presetAt]!);
      this.presetAt += 1;
    }
    return ready.sort(byStreamOrder).map((e) => e.line);
  }

  takeAll(): RecordingLine[] {
    return this.takeBefore(Number.POSITIVE_INFINITY);
  }
}
