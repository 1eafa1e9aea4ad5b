import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { suiteRedis, wipePrefix } from '../../../test/support/redis.js';
import { describeWithService } from '../../../test/support/services.js';
import { BullMqJobQueue } from './bullmq.job-queue.js';
import { jobQueueContract } from './job-queue.contract.js';

describeWithService('BullMqJobQueue', 'redis', 'REDIS_URL', (url) => {
  const admin = suiteRedis(url);

  jobQueueContract('bullmq', async () => {
    const prefix = `tally-test-${randomUUID()}`;
    return {
      open: ({ backoffMs }) => new BullMqJobQueue({ url, prefix, backoffMs }),
      shared: true,
      cleanup: () => wipePrefix(admin(), prefix),
    };
  });

  describe('beyond the contract', () => {
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (!(await check())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(20);
      }
    }

    let prefix: string;
    let open: BullMqJobQueue[];
    let closers: (() => Promise<unknown>)[];
    const queue = (opts: { backoffMs?: number; keepFailed?: number } = {}) => {
      const q = new BullMqJobQueue({ url, prefix, ...opts });
      open.push(q);
      return q;
    };
    afterEach(async () => {
      await Promise.all(open.map((q) => q.stop()));
      for (const c of closers) await c();
      await wipePrefix(admin(), prefix);
    });
    beforeEach(() => {
      prefix = `tally-test-${randomUUID()}`;
      open = [];
      closers = [];
    });

    it('reports ctx.progress through BullMQ job progress', async () => {
      const events = new QueueEvents('work', { connection: { url }, prefix });
      closers.push(() => events.close());
      await events.waitUntilReady();
      const seen: unknown[] = [];
      events.on('progress', ({ data }) => void seen.push(data));
      const q = queue();
      q.register('work', async (ctx) => {
        for (let i = 1; i <= 3; i++) {
          ctx.progress(i, 3);
          await sleep(300);
        }
      });
      await q.start();
      await q.enqueue('work', {});
      await until(() => seen.length >= 3, 'three progress events');
      expect(seen).toEqual([
        { done: 1, total: 3 },
        { done: 2, total: 3 },
        { done: 3, total: 3 },
      ]);
    });

    it('holds a name to its concurrency across worker processes', async () => {
      let now = 0;
      let max = 0;
      const ran = new Map<string, number>();
      const handler = (who: string) => async () => {
        now++;
        max = Math.max(max, now);
        ran.set(who, (ran.get(who) ?? 0) + 1);
        await sleep(60);
        now--;
      };
      const a = queue();
      const b = queue();
      a.register('pipeline', handler('a'));
      b.register('pipeline', handler('b'));
      await Promise.all([a.start(), b.start()]);
      await Promise.all(Array.from({ length: 10 }, (_, i) => a.enqueue('pipeline', { i })));
      await until(() => [...ran.values()].reduce((x, y) => x + y, 0) === 10, 'ten runs');
      expect(max).toBe(1);
    });

    it('keeps jobs in Redis while no worker runs: a later worker process takes them', async () => {
      const producer = queue();
      await producer.enqueue('later', { n: 1 });
      await producer.enqueue('later', { n: 2 });
      await producer.stop();
      const got: unknown[] = [];
      const worker = queue();
      worker.register('later', async (ctx) => void got.push(ctx.data));
      await worker.start();
      await until(() => got.length === 2, 'both jobs');
      expect(got).toEqual([{ n: 1 }, { n: 2 }]);
    });

    it('keeps a job that failed for good for inspection, and one schedule however many schedulers upsert it', async () => {
      const q = queue({ backoffMs: 20 });
      let calls = 0;
      q.register('broken', async () => {
        calls++;
        throw new Error('disk on fire');
      });
      await q.start();
      await q.enqueue('broken', {}, { attempts: 2, jobId: 'p-1' });
      await until(() => calls === 2, 'two attempts');
      const inspect = new Queue('broken', { connection: { url }, prefix });
      closers.push(() => inspect.close());
      await until(async () => (await inspect.getFailedCount()) === 1, 'the failed job');
      const [failed] = await inspect.getFailed();
      expect(failed.failedReason).toBe('disk on fire');
      expect(failed.attemptsMade).toBe(2);

      const s1 = queue();
      const s2 = queue();
      await s1.schedule('tick', 60_000, { v: 1 });
      await s2.schedule('tick', 60_000, { v: 2 });
      const ticks = new Queue('tick', { connection: { url }, prefix });
      closers.push(() => ticks.close());
      const schedulers = await ticks.getJobSchedulers();
      expect(schedulers).toHaveLength(1);
      expect(schedulers[0].every).toBe(60_000);
      expect(schedulers[0].template?.data).toEqual({ v: 2 });
    });
  });
});
