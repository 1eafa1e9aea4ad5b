import { countersContract } from './counters.contract.js';
import { MemoryCounters } from './memory.counters.js';

countersContract('memory', async () => ({
  open: () => new MemoryCounters(),
  shared: false,
  cleanup: async () => undefined,
}));
