import { describe, expect, it } from 'vitest';
import { perTestBackend } from '../contract.testkit.js';
import type { JobContext, JobQueue } from './job-queue.port.js';

export interface JobQueueBackend {
  /** A new queue instance on this test's backend (its own BullMQ prefix, say). */
  open(options: { backoffMs: number }): JobQueue;
  /** Whether two instances share their jobs (BullMQ on one Redis); in-process ones never do. */
  shared: boolean;
  /** Removes what the test left in the backend; every instance is already stopped. */
  cleanup(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** Counts how many calls of a handler overlap, overall and per key. */
function overlap() {
  let now = 0;
  const perKey = new Map<string, number>();
  const maxPerKey = new Map<string, number>();
  return {
    max: 0,
    runs: 0,
    maxFor: (key: string) => maxPerKey.get(key) ?? 0,
    async around(key: string, ms: number) {
      this.runs++;
      now++;
      this.max = Math.max(this.max, now);
      perKey.set(key, (perKey.get(key) ?? 0) + 1);
      maxPerKey.set(key, Math.max(maxPerKey.get(key) ?? 0, perKey.get(key)!));
      await sleep(ms);
      perKey.set(key, perKey.get(key)! - 1);
      now--;
    },
  };
}

/**
 * The behaviour every JobQueue implementation must have (in-process, BullMQ). Timings are real
 * and short: backoff 100 ms, schedules every 150 ms.
 */
export function jobQueueContract(name: string, factory: () => Promise<JobQueueBackend>): void {
  describe(`JobQueue contract: ${name}`, () => {
    const BACKOFF = 100;
    const { backend, open } = perTestBackend(
      factory,
      (b) => b.open({ backoffMs: BACKOFF }),
      (q) => q.stop(),
    );

    it('answers a ping while its store is reachable', async () => {
      await expect(open().ping()).resolves.toBeUndefined();
    });

    it('delivers each job with its data to the handler of its name', async () => {
      const q = open();
      const seen: { name: string; data: unknown }[] = [];
      q.register('alpha', async (ctx) => void seen.push({ name: ctx.name, data: ctx.data }));
      q.register('beta', async (ctx) => void seen.push({ name: ctx.name, data: ctx.data }));
      await q.start();
      await q.enqueue('alpha', { n: 1, nested: { list: [1, 'two'], flag: true } });
      await q.enqueue('beta', { n: 2 });
      await q.enqueue('alpha', { n: 3 });
      await until(() => seen.length === 3, 'three jobs');
      expect(seen.filter((s) => s.name === 'alpha').map((s) => s.data)).toEqual([{ n: 1, nested: { list: [1, 'two'], flag: true } }, { n: 3 }]);
      expect(seen.filter((s) => s.name === 'beta').map((s) => s.data)).toEqual([{ n: 2 }]);
    });

    it('runs jobs enqueued before start once it starts, and returns what the handler resolves', async () => {
      const q = open();
      const results: unknown[] = [];
      q.register('early', async (ctx) => {
        results.push(ctx.data);
        return 'ok';
      });
      await q.enqueue('early', { before: true });
      await sleep(200);
      expect(results).toEqual([]);
      await q.start();
      await until(() => results.length === 1, 'the early job');
      expect(results).toEqual([{ before: true }]);
    });

    it('never runs the same job id twice at once, and accepts the id again once it is done', async () => {
      const q = open();
      const o = overlap();
      q.register('p', (ctx: JobContext<{ part: string }>) => o.around(ctx.data.part, 150), { concurrency: 4 });
      await q.start();
      await Promise.all([1, 2, 3].map(() => q.enqueue('p', { part: 'one' }, { jobId: 'partition-1' })));
      await q.enqueue('p', { part: 'two' }, { jobId: 'partition-2' });
      await until(() => o.runs === 2, 'two runs');
      await sleep(300);
      expect(o.runs).toBe(2);
      expect(o.maxFor('one')).toBe(1);
      expect(o.max).toBeLessThanOrEqual(2);
      await q.enqueue('p', { part: 'one' }, { jobId: 'partition-1' });
      await until(() => o.runs === 3, 'the same id run again after completing');
    });

    it('retries a failing job with exponential backoff, then gives up', async () => {
      const q = open();
      const flaky: number[] = [];
      const broken: number[] = [];
      q.register('flaky', async () => {
        flaky.push(Date.now());
        if (flaky.length < 3) throw new Error('boom');
        return 'ok';
      });
      q.register('broken', async () => {
        broken.push(Date.now());
        throw new Error('always');
      });
      await q.start();
      await q.enqueue('flaky', {}, { attempts: 5 });
      await q.enqueue('broken', {}, { attempts: 2 });
      await until(() => flaky.length === 3 && broken.length === 2, 'the retries');
      // attempt n waits BACKOFF * 2^(n-1) after attempt n-1 (timers may fire a little early)
      expect(flaky[1] - flaky[0]).toBeGreaterThanOrEqual(BACKOFF * 0.9);
      expect(flaky[2] - flaky[1]).toBeGreaterThanOrEqual(BACKOFF * 2 * 0.9);
      expect(broken[1] - broken[0]).toBeGreaterThanOrEqual(BACKOFF * 0.9);
      await sleep(BACKOFF * 8);
      expect(flaky).toHaveLength(3);
      expect(broken).toHaveLength(2);
    });

    it('accepts a job id again after it failed for good', async () => {
      const q = open();
      let calls = 0;
      q.register('broken', async () => {
        calls++;
        throw new Error('always');
      });
      await q.start();
      await q.enqueue('broken', {}, { jobId: 'part-x', attempts: 2 });
      await until(() => calls === 2, 'both attempts');
      await sleep(100);
      await q.enqueue('broken', {}, { jobId: 'part-x', attempts: 1 });
      await until(() => calls === 3, 'the failed id run again');
    });

    it('repeats a schedule with its data until stopped', async () => {
      const q = open();
      const ticks: { at: number; data: unknown }[] = [];
      q.register('tick', async (ctx) => void ticks.push({ at: Date.now(), data: ctx.data }));
      await q.start();
      await q.schedule('tick', 150, { every: 'tick' });
      await until(() => ticks.length >= 4, 'four ticks', 5_000);
      expect(ticks.every((t) => (t.data as any).every === 'tick')).toBe(true);
      // one late run may be followed closely by the next, but on average they keep the interval
      expect((ticks.at(-1)!.at - ticks[0].at) / (ticks.length - 1)).toBeGreaterThanOrEqual(150 * 0.6);
      await q.stop();
      const n = ticks.length;
      await sleep(450);
      expect(ticks.length).toBe(n);
    });

    it('runs at most `concurrency` jobs of a name at once', async () => {
      const q = open();
      const two = overlap();
      const one = overlap();
      q.register('two', () => two.around('x', 80), { concurrency: 2 });
      q.register('one', () => one.around('x', 40));
      await q.start();
      await Promise.all(Array.from({ length: 6 }, (_, i) => q.enqueue('two', { i })));
      await Promise.all(Array.from({ length: 4 }, (_, i) => q.enqueue('one', { i })));
      await until(() => two.runs === 6 && one.runs === 4, 'all jobs', 10_000);
      expect(two.max).toBe(2);
      expect(one.max).toBe(1);
    });

    it('stop() aborts the signal and waits for running jobs to finish', async () => {
      const q = open();
      let started = false;
      let finished = false;
      let abortedDuringRun = false;
      q.register('slow', async (ctx) => {
        started = true;
        await sleep(300);
        abortedDuringRun = ctx.signal.aborted;
        finished = true;
      });
      await q.start();
      await q.enqueue('slow', {});
      await until(() => started, 'the job to start');
      await q.stop();
      expect(finished).toBe(true);
      expect(abortedDuringRun).toBe(true);
    });

    it('a scheduler-only instance (never started) schedules and enqueues; a started one runs them', async (ctx) => {
      if (!backend().shared) {
        ctx.skip(`${name} instances share nothing by design: the scheduler and its worker are one process`);
        return;
      }
      const scheduler = open();
      const worker = open();
      const onScheduler: unknown[] = [];
      const onWorker: { name: string; data: unknown }[] = [];
      scheduler.register('tick', async (c) => void onScheduler.push(c.data));
      scheduler.register('once', async (c) => void onScheduler.push(c.data));
      worker.register('tick', async (c) => void onWorker.push({ name: c.name, data: c.data }));
      worker.register('once', async (c) => void onWorker.push({ name: c.name, data: c.data }));
      await worker.start();
      await scheduler.schedule('tick', 150, { from: 'scheduler' });
      await scheduler.enqueue('once', { from: 'scheduler', n: 1 });
      await until(() => onWorker.filter((r) => r.name === 'tick').length >= 3 && onWorker.some((r) => r.name === 'once'), 'the worker to run them');
      expect(onScheduler).toEqual([]);
      expect(onWorker.filter((r) => r.name === 'once')).toEqual([{ name: 'once', data: { from: 'scheduler', n: 1 } }]);
      expect(onWorker.filter((r) => r.name === 'tick').every((r) => (r.data as any).from === 'scheduler')).toBe(true);
    });
  });
}
