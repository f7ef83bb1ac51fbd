/**
 * The CustodyLedger contract, run against every implementation (memory in the unit suite, Redis
 * and the real Redis Cluster in the integration suite). Two handles share one ledger, as two
 * detector instances do: one records the seller's side, the other the buyer's.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CustodyEntry, CustodyLedger, CustodySide } from '../../src/state/custody-ledger.ts';

export interface LedgerPair {
  ledger: CustodyLedger;
  /** Another handle on the same ledger (another connection, for Redis). */
  other: CustodyLedger;
  /** Shipment ids unique to this test run (Redis is shared between runs). */
  shipmentId: (id: string) => string;
  cleanup?: () => Promise<void>;
}

const T0 = Date.UTC(2025, 2, 3, 9);
const HOUR = 3_600_000;

export const shipmentSide = (over: Partial<CustodySide> = {}): CustodySide => ({
  reportId: 'ship-1', producerId: 'SELLER', counterpartyId: 'BUYER', material: 'NDPR_OXIDE', quantityKg: 1250.5, occurredAt: T0, ...over,
});
export const receiptSide = (over: Partial<CustodySide> = {}): CustodySide => ({
  reportId: 'rcpt-1', producerId: 'BUYER', counterpartyId: 'SELLER', material: 'NDPR_OXIDE', quantityKg: 1249.75, occurredAt: T0 + 30 * HOUR, ...over,
});

export function describeCustodyLedgerContract(name: string, factory: () => Promise<LedgerPair>) {
  describe(`CustodyLedger contract: ${name}`, () => {
    let ledger: CustodyLedger;
    let other: CustodyLedger;
    let S: (id: string) => string;
    let cleanup: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      ({ ledger, other, shipmentId: S, cleanup } = await factory());
    });
    afterEach(async () => {
      await cleanup?.();
      await ledger.close();
      if (other !== ledger) await other.close();
    });

    it('holds a lone side, and knows nothing of shipments never recorded', async () => {
      const id = S('lone');
      expect(await ledger.record([{ shipmentId: id, side: 'shipment', value: shipmentSide() }])).toEqual([{ shipment: shipmentSide() }]);
      const found = await ledger.get([id, S('never')]);
      expect([...found.keys()]).toEqual([id]);
      expect(found.get(id)).toEqual({ shipment: shipmentSide() });
    });

    it('shows the second side the first, whichever comes first, from another instance', async () => {
      const shippedFirst = S('shipped-first');
      const receivedFirst = S('received-first');
      await ledger.record([{ shipmentId: shippedFirst, side: 'shipment', value: shipmentSide() }]);
      await other.record([{ shipmentId: receivedFirst, side: 'receipt', value: receiptSide() }]);
      const [a] = await other.record([{ shipmentId: shippedFirst, side: 'receipt', value: receiptSide() }]);
      const [b] = await ledger.record([{ shipmentId: receivedFirst, side: 'shipment', value: shipmentSide() }]);
      expect(a).toEqual({ shipment: shipmentSide(), receipt: receiptSide() });
      expect(b).toEqual({ shipment: shipmentSide(), receipt: receiptSide() });
    });

    it('keeps the first value of a side recorded again (a redelivery, or another instance)', async () => {
      const id = S('again');
      await ledger.record([{ shipmentId: id, side: 'receipt', value: receiptSide() }]);
      const [again] = await other.record([{ shipmentId: id, side: 'receipt', value: receiptSide({ reportId: 'rcpt-2', quantityKg: 1 }) }]);
      expect(again).toEqual({ receipt: receiptSide() });
      expect((await ledger.get([id])).get(id)).toEqual({ receipt: receiptSide() });
    });

    it('answers each entry of one call with the record right after it, in order', async () => {
      const id = S('one-call');
      const entries: CustodyEntry[] = [
        { shipmentId: id, side: 'receipt', value: receiptSide() },
        { shipmentId: id, side: 'receipt', value: receiptSide({ quantityKg: 2 }) },
        { shipmentId: id, side: 'shipment', value: shipmentSide() },
      ];
      expect(await ledger.record(entries)).toEqual([
        { receipt: receiptSide() },
        { receipt: receiptSide() },
        { shipment: shipmentSide(), receipt: receiptSide() },
      ]);
    });

    it('records and reads many shipments in one call each', async () => {
      const ids = Array.from({ length: 40 }, (_, i) => S(`many-${i}`));
      const records = await ledger.record(ids.map((shipmentId, i) => ({ shipmentId, side: 'shipment' as const, value: shipmentSide({ reportId: `ship-${i}`, quantityKg: i + 0.25 }) })));
      expect(records.map((r) => r.shipment?.quantityKg)).toEqual(ids.map((_, i) => i + 0.25));
      const found = await other.get(ids);
      expect(ids.map((id) => found.get(id)?.shipment?.reportId)).toEqual(ids.map((_, i) => `ship-${i}`));
      expect(await ledger.record([])).toEqual([]);
      expect((await ledger.get([])).size).toBe(0);
    });

    it('forgets judged transfers: gone for both instances, and a side recorded after starts afresh', async () => {
      const [judged, kept] = [S('judged'), S('kept')];
      await ledger.record([
        { shipmentId: judged, side: 'shipment', value: shipmentSide() },
        { shipmentId: judged, side: 'receipt', value: receiptSide() },
        { shipmentId: kept, side: 'shipment', value: shipmentSide() },
      ]);
      await other.forget([judged]);
      const found = await ledger.get([judged, kept]);
      expect([...found.keys()]).toEqual([kept]);
      expect(await ledger.record([{ shipmentId: judged, side: 'receipt', value: receiptSide({ reportId: 'rcpt-9' }) }])).toEqual([{ receipt: receiptSide({ reportId: 'rcpt-9' }) }]);
    });

    it('when two instances record the two sides at once, at least one of them sees both', async () => {
      const ids = Array.from({ length: 60 }, (_, i) => S(`race-${i}`));
      // Each instance sends its sides in small batches, interleaved with the other's.
      const batches = (side: 'shipment' | 'receipt', make: () => CustodySide) =>
        Array.from({ length: 6 }, (_, b) => ids.slice(b * 10, b * 10 + 10).map((shipmentId) => ({ shipmentId, side, value: make() })));
      const run = async (l: CustodyLedger, list: CustodyEntry[][]) => (await Promise.all(list.map((entries) => l.record(entries)))).flat();
      const [sellers, buyers] = await Promise.all([run(ledger, batches('shipment', shipmentSide)), run(other, batches('receipt', receiptSide))]);
      const sawBoth = (r: { shipment?: unknown; receipt?: unknown } | undefined) => r?.shipment !== undefined && r?.receipt !== undefined;
      expect(ids.filter((_, i) => !sawBoth(sellers[i]) && !sawBoth(buyers[i]))).toEqual([]);
      const found = await ledger.get(ids);
      expect(ids.every((id) => sawBoth(found.get(id)))).toBe(true);
    });
  });
}
