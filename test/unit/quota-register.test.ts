import { createMemoryQuotaRegister } from '../../src/state/quota-register.ts';
import { describeQuotaRegisterContract } from '../helpers/quota-register-contract.ts';

describeQuotaRegisterContract('in-memory', async () => ({ register: createMemoryQuotaRegister(), producer: (id) => id }));
