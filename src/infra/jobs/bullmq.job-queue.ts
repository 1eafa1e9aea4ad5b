import { Queue, Worker, type Job, type JobsOptions } from 'bullmq';
import { Redis } from 'ioredis';
import type { EnqueueOptions, JobContext, JobHandler, JobQueue } from './job-queue.port.js';
import type { Logger } from '../logger.js';

export interface BullMqJobQueueOptions {
  /** redis://host:port[/db] */
  url: string;
  /** Namespaces every key of these queues in Redis; processes that share it share the jobs. */
  prefix?: string;
  /** First retry delay; the n-th retry waits backoffMs * 2^(n-1). */
  backoffMs?: number;
  /** Failed jobs kept in Redis for inspection (their ids never block a new enqueue). */
  keepFailed?: number;
  logger?: Logger;
}

interface Registered {
  handler: JobHandler<any, any>;
  concurrency: number;
}

const PROGRESS_EVERY_MS = 250;

/**
 * Jobs on Redis through BullMQ: one queue per job name, so each name has its own concurrency.
 * Any process may enqueue or schedule; only a started one runs handlers (a Worker per registered
 * name). A name's concurrency is global: at most that many of its jobs run at once across every
 * worker process, which is what keeps two workers from running the same pipeline side by side.
 * `jobId` is a BullMQ deduplication id: a second enqueue is dropped while the first is waiting,
 * delayed for a retry or running, and accepted again once it completed or failed for good.
 */
export class BullMqJobQueue implements JobQueue {
  private readonly prefix: string;
  private readonly backoffMs: number;
  private readonly keepFailed: number;
  private readonly log: Logger | undefined;
  private readonly redis: Redis;
  private readonly handlers = new Map<string, Registered>();
  private readonly queues = new Map<string, Queue>();
  private readonly workers = new Map<string, Worker>();
  private readonly abort = new AbortController();
  private started = false;
  private stopping = false;

  constructor(opts: BullMqJobQueueOptions) {
    this.prefix = opts.prefix ?? 'tally';
    this.backoffMs = opts.backoffMs ?? 1_000;
    this.keepFailed = opts.keepFailed ?? 1_000;
    this.log = opts.logger;
    this.redis = new Redis(opts.url, { maxRetriesPerRequest: null, lazyConnect: true });
    this.redis.on('error', (err) => this.log?.warn({ err }, 'job queue: redis connection error'));
  }

  register<D, R>(name: string, handler: JobHandler<D, R>, options?: { concurrency?: number }): void {
    this.handlers.set(name, { handler: handler as JobHandler<any, any>, concurrency: options?.concurrency ?? 1 });
    if (this.started && !this.stopping) void this.startWorker(name).catch((err) => this.log?.error({ err, job: name }, 'job queue: worker failed to start'));
  }

  async enqueue(name: string, data: Record<string, unknown>, options?: EnqueueOptions): Promise<void> {
    if (this.stopping) return;
    await this.queue(name).add(name, data, {
      ...this.jobOptions(options?.attempts),
      ...(options?.jobId ? { deduplication: { id: options.jobId } } : {}),
    });
  }

  async schedule(name: string, everyMs: number, data: Record<string, unknown> = {}): Promise<void> {
    if (this.stopping) return;
    // the scheduler id is the name: every scheduler process upserts the same one
    await this.queue(name).upsertJobScheduler(name, { every: everyMs }, { name, data, opts: this.jobOptions() });
  }

  async start(): Promise<void> {
    if (this.started || this.stopping) return;
    this.started = true;
    await Promise.all([...this.handlers.keys()].map((name) => this.startWorker(name)));
  }

  async ping(): Promise<void> {
    await this.redis.ping();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.abort.abort();
    // close() without force waits for the jobs each worker is running
    await Promise.allSettled([...this.workers.values()].map((w) => w.close()));
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.workers.clear();
    this.queues.clear();
    if (this.redis.status === 'wait') this.redis.disconnect();
    else await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private jobOptions(attempts = 3): JobsOptions {
    return {
      attempts,
      backoff: { type: 'exponential', delay: this.backoffMs },
      removeOnComplete: true,
      removeOnFail: { count: this.keepFailed },
    };
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.redis, prefix: this.prefix });
      q.on('error', (err) => this.log?.warn({ err, job: name }, 'job queue: queue error'));
      this.queues.set(name, q);
    }
    return q;
  }

  private async startWorker(name: string): Promise<void> {
    const reg = this.handlers.get(name)!;
    if (this.workers.has(name)) return;
    await this.queue(name).setGlobalConcurrency(reg.concurrency);
    const worker = new Worker(name, (job, _token, signal) => this.process(job, reg, signal), {
      connection: this.redis,
      prefix: this.prefix,
      concurrency: reg.concurrency,
      autorun: false,
    });
    worker.on('error', (err) => this.log?.warn({ err, job: name }, 'job queue: worker error'));
    worker.on('failed', (job, err) => {
      if (!job) return;
      const final = job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final) this.log?.error({ err, job: name, attempts: job.attemptsMade }, 'job failed');
      else this.log?.warn({ err, job: name, attempt: job.attemptsMade }, 'job failed; retrying');
    });
    this.workers.set(name, worker);
    void worker.run().catch((err) => this.log?.error({ err, job: name }, 'job queue: worker stopped'));
    await worker.waitUntilReady();
  }

  private async process(job: Job, reg: Registered, signal: AbortSignal | undefined): Promise<unknown> {
    let last = 0;
    const ctx: JobContext = {
      name: job.name,
      data: job.data,
      progress: (done, total, unit) => {
        const now = Date.now();
        if (done < total && now - last < PROGRESS_EVERY_MS) return;
        last = now;
        job.updateProgress({ done, total, unit }).catch((err) => this.log?.debug({ err, job: job.name }, 'job progress not recorded'));
      },
      signal: signal ? AbortSignal.any([signal, this.abort.signal]) : this.abort.signal,
    };
    return reg.handler(ctx);
  }
}
