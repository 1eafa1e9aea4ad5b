import { InProcessJobQueue } from './in-process.job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';

jobQueueContract('in-process', async () => ({
  open: ({ backoffMs }) => new InProcessJobQueue(undefined, backoffMs),
  shared: false,
  cleanup: async () => undefined,
}));
