/**
 * One producer's state as the engine holds it: named cells (cell.ts) that rules declare and read.
 * Loaded from its stored parts lazily: a cell is rebuilt only when something first asks for it,
 * so a batch that touches one material of a producer decodes that material's cells only.
 *
 * Stored as fields `${cellName}#${part}` (or `${cellName}` for a cell saved whole); a cell name
 * never holds '#', since it is made of ids checked by assertKeyPart.
 */
import { WHOLE, type StateCell } from './cell.ts';
import { DELTA_SUFFIX } from './delta-parts.ts';

const SEPARATOR = '#';

export const fieldOf = (cellName: string, part: string): string => (part === WHOLE ? cellName : `${cellName}${SEPARATOR}${part}`);

/** The producer's changes since it was last saved: field → text, or null to delete the field. */
export type ProducerChanges = Map<string, string | null>;

export class ProducerState {
  private readonly cells = new Map<string, StateCell>();
  /** Stored parts of cells nobody has asked for yet: cell name → part → text. */
  private readonly unread = new Map<string, Map<string, string>>();

  constructor(readonly producerId: string, stored?: Map<string, string>) {
    if (!stored) return;
    for (const [field, text] of stored) {
      const at = field.indexOf(SEPARATOR);
      const name = at === -1 ? field : field.slice(0, at);
      const part = at === -1 ? WHOLE : field.slice(at + 1);
      let parts = this.unread.get(name);
      if (!parts) this.unread.set(name, (parts = new Map()));
      parts.set(part, text);
    }
  }

  /** The cell of that name, made by `create` (and filled from storage) on first use. */
  cell<C extends StateCell>(name: string, create: () => C): C {
    let cell = this.cells.get(name);
    if (cell === undefined) {
      cell = create();
      const parts = this.unread.get(name);
      if (parts) {
        // A delta part (a name ending in DELTA_SUFFIX) is read after the cell's other parts, so it
        // lands on the base it was written against whatever order the store gave the fields in.
        for (const [part, text] of parts) if (!part.endsWith(DELTA_SUFFIX)) cell.restorePart(part, text);
        for (const [part, text] of parts) if (part.endsWith(DELTA_SUFFIX)) cell.restorePart(part, text);
        this.unread.delete(name);
      }
      this.cells.set(name, cell);
    }
    return cell as C;
  }

  /** Every change since the last call, as fields to write; clears the record of changes. */
  drainChanges(): ProducerChanges {
    const changes: ProducerChanges = new Map();
    for (const [name, cell] of this.cells) {
      for (const [part, text] of cell.drainChanges()) changes.set(fieldOf(name, part), text);
    }
    return changes;
  }
}
