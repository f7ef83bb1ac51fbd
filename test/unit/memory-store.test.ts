import { createMemoryStore } from '../../src/state/memory-store.ts';
import { describeStoreContract } from '../helpers/store-contract.ts';

describeStoreContract('in-memory', async () => ({ store: createMemoryStore(), producer: (id) => id }));
