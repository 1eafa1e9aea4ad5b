import { describe, expect, it } from 'vitest';
import { InProcessJobQueue } from './in-process.job-queue.js';

describe('InProcessJobQueue', () => {
  it('runs enqueued jobs with their data', async () => {
    const q = new InProcessJobQueue(undefined, 1);
    const seen: unknown[] = [];
    q.register('j', async (ctx) => void seen.push(ctx.data));
    await q.start();
    await q.enqueue('j', { a: 1 });
    await q.enqueue('j', { a: 2 });
    await q.idle();
    expect(seen).toEqual([{ a: 1 }, { a: 2 }]);
    await q.stop();
  });

  it('never runs the same job id twice at once', async () => {
    const q = new InProcessJobQueue(undefined, 1);
    let concurrent = 0;
    let maxConcurrent = 0;
    let runs = 0;
    q.register(
      'p',
      async () => {
        concurrent++;
        runs++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        await new Promise((r) => setTimeout(r, 20));
        concurrent--;
      },
      { concurrency: 4 },
    );
    await q.start();
    await Promise.all([1, 2, 3].map(() => q.enqueue('p', {}, { jobId: 'partition-1' })));
    await q.enqueue('p', {}, { jobId: 'partition-2' });
    await q.idle();
    expect(runs).toBe(2);
    expect(maxConcurrent).toBe(2);
    await q.stop();
  });

  it('retries a failing job with backoff, then reports failure', async () => {
    const q = new InProcessJobQueue(undefined, 1);
    let attempts = 0;
    const outcomes: string[] = [];
    q.listeners.add((e) => outcomes.push(e.status));
    q.register('flaky', async () => {
      attempts++;
      if (attempts < 3) throw new Error('boom');
      return 'ok';
    });
    q.register('broken', async () => {
      throw new Error('always');
    });
    await q.start();
    await q.enqueue('flaky', {}, { attempts: 5 });
    await q.enqueue('broken', {}, { attempts: 2 });
    await new Promise((r) => setTimeout(r, 100));
    await q.idle();
    expect(attempts).toBe(3);
    expect(outcomes.sort()).toEqual(['failed', 'succeeded']);
    await q.stop();
  });
});
