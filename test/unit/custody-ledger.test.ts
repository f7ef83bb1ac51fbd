import { createMemoryCustodyLedger } from '../../src/state/custody-ledger.ts';
import { describeCustodyLedgerContract } from '../helpers/custody-ledger-contract.ts';

describeCustodyLedgerContract('in-memory', async () => {
  // One ledger, two handles: the memory ledger is shared by reference, as embedded replay shares it.
  const ledger = createMemoryCustodyLedger();
  return { ledger, other: ledger, shipmentId: (id) => id };
});
