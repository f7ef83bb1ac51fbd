/**
 * The custody ledger: both sides of a domestic transfer, keyed by shipmentId. The seller's
 * shipment and the buyer's receipt are on different partitions (keyed by producer), so neither
 * producer's state can hold both. Each side writes only its own half, as a value, and reads the
 * whole record back in the same atomic step: whichever side is recorded second sees the first,
 * whatever instance handles each, and a redelivered side changes nothing (the first one is kept).
 *
 * Implementations: memory (embedded replay, tests) here; Redis in redis-custody-ledger.ts.
 */

/** One side of a transfer as custody-gap needs it. */
export interface CustodySide {
  reportId: string;
  /** The seller for a shipment, the buyer for a receipt. */
  producerId: string;
  /** The other party as this side names it: the client for a shipment, the supplier for a receipt. */
  counterpartyId: string;
  material: string;
  quantityKg: number;
  occurredAt: number;
}

export interface CustodyRecord {
  shipment?: CustodySide | undefined;
  receipt?: CustodySide | undefined;
}

export interface CustodyEntry {
  shipmentId: string;
  side: 'shipment' | 'receipt';
  value: CustodySide;
}

export interface CustodyLedger {
  /**
   * Records each side (a side already held for its shipmentId keeps the first value) and returns,
   * index-aligned, the shipmentId's record right after that entry: both sides when both are known.
   */
  record(entries: readonly CustodyEntry[]): Promise<CustodyRecord[]>;
  /** The records of these shipmentIds (missing ones are absent). */
  get(shipmentIds: readonly string[]): Promise<Map<string, CustodyRecord>>;
  /** Forgets judged transfers. */
  forget(shipmentIds: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

export function createMemoryCustodyLedger(): CustodyLedger {
  const records = new Map<string, CustodyRecord>();
  return {
    async record(entries) {
      return entries.map(({ shipmentId, side, value }) => {
        let held = records.get(shipmentId);
        if (!held) records.set(shipmentId, (held = {}));
        if (held[side] === undefined) held[side] = value;
        return { ...held };
      });
    },
    async get(shipmentIds) {
      const found = new Map<string, CustodyRecord>();
      for (const id of shipmentIds) {
        const held = records.get(id);
        if (held) found.set(id, { ...held });
      }
      return found;
    },
    async forget(shipmentIds) {
      for (const id of shipmentIds) records.delete(id);
    },
    async close() {},
  };
}
