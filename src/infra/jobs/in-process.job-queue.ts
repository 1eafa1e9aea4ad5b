import type { EnqueueOptions, JobContext, JobHandler, JobQueue } from './job-queue.port.js';
import type { Logger } from '../logger.js';

interface Registered {
  handler: JobHandler<any, any>;
  concurrency: number;
  running: number;
}

interface Queued {
  name: string;
  data: Record<string, unknown>;
  jobId: string | undefined;
  attempts: number;
  attempt: number;
}

/**
 * Jobs in this process: the embedded default. Same contract as BullMQ: repeatable schedules,
 * retries with exponential backoff, a per-name concurrency, and a job id that is never run twice
 * at once (a second enqueue while it is queued or running is dropped).
 */
export class InProcessJobQueue implements JobQueue {
  private handlers = new Map<string, Registered>();
  private queue: Queued[] = [];
  private active = new Set<string>();
  private running = new Set<Promise<void>>();
  private timers: NodeJS.Timeout[] = [];
  private started = false;
  private stopping = false;
  private abort = new AbortController();
  readonly listeners = new Set<(e: { name: string; jobId?: string; status: 'succeeded' | 'failed'; error?: unknown; result?: unknown }) => void>();

  constructor(
    private readonly log?: Logger,
    private readonly backoffMs = 1_000,
  ) {}

  register<D, R>(name: string, handler: JobHandler<D, R>, options?: { concurrency?: number }): void {
    this.handlers.set(name, { handler: handler as JobHandler<any, any>, concurrency: options?.concurrency ?? 1, running: 0 });
  }

  async enqueue(name: string, data: Record<string, unknown>, options?: EnqueueOptions): Promise<void> {
    if (this.stopping) return;
    const jobId = options?.jobId;
    if (jobId && this.active.has(jobId)) return;
    if (jobId) this.active.add(jobId);
    this.queue.push({ name, data, jobId, attempts: options?.attempts ?? 3, attempt: 0 });
    this.pump();
  }

  async schedule(name: string, everyMs: number, data: Record<string, unknown> = {}): Promise<void> {
    const t = setInterval(() => void this.enqueue(name, data, { jobId: `repeat:${name}` }), everyMs);
    t.unref();
    this.timers.push(t);
  }

  /** Nothing outside this process to reach. */
  async ping(): Promise<void> {}

  async start(): Promise<void> {
    this.started = true;
    this.pump();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearInterval(t);
    this.queue = [];
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.queue.length || this.running.size) await Promise.allSettled([...this.running, new Promise((r) => setTimeout(r, 10))]);
  }

  private pump(): void {
    if (!this.started || this.stopping) return;
    for (let i = 0; i < this.queue.length; i++) {
      const job = this.queue[i];
      const reg = this.handlers.get(job.name);
      if (!reg || reg.running >= reg.concurrency) continue;
      this.queue.splice(i--, 1);
      reg.running++;
      const p = this.run(job, reg).finally(() => {
        reg.running--;
        this.running.delete(p);
        this.pump();
      });
      this.running.add(p);
    }
  }

  private async run(job: Queued, reg: Registered): Promise<void> {
    const ctx: JobContext = { name: job.name, data: job.data, progress: () => undefined, signal: this.abort.signal };
    try {
      const result = await reg.handler(ctx);
      if (job.jobId) this.active.delete(job.jobId);
      for (const l of this.listeners) l({ name: job.name, jobId: job.jobId, status: 'succeeded', result });
    } catch (error) {
      job.attempt++;
      if (job.attempt < job.attempts && !this.stopping) {
        const delay = this.backoffMs * 2 ** (job.attempt - 1);
        this.log?.warn({ err: error, job: job.name, attempt: job.attempt, delay }, 'job failed; retrying');
        const t = setTimeout(() => {
          this.queue.push(job);
          this.pump();
        }, delay);
        t.unref();
        return;
      }
      if (job.jobId) this.active.delete(job.jobId);
      this.log?.error({ err: error, job: job.name }, 'job failed');
      for (const l of this.listeners) l({ name: job.name, jobId: job.jobId, status: 'failed', error });
    }
  }
}
