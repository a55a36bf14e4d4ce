import { MemoryStateStore } from '../../../../lambdas/adapters/memory/memory-state-store.ts';
import { describeStateStoreContract } from '../../../support/state-store-contract.ts';

describeStateStoreContract('MemoryStateStore', () => new MemoryStateStore());
