/**
 * The jobs port. Embedded: an in-process scheduler and runner. At scale: BullMQ on Redis.
 * Job handlers (jobs/) know nothing of either: they get a context and return a result.
 */
export interface JobContext<D = Record<string, unknown>> {
  name: string;
  data: D;
  /** Reports progress (done of total) to whoever watches: the CLI's progress bar, BullMQ. */
  progress(done: number, total: number): void;
  signal: AbortSignal;
}

export type JobHandler<D = Record<string, unknown>, R = unknown> = (ctx: JobContext<D>) => Promise<R>;

/** Runs a registered job now, in this process (the management API's "run now", the CLI, tests). */
export type JobRunner = (name: string, data: Record<string, unknown>, progress: (done: number, total: number) => void) => Promise<unknown>;

export interface EnqueueOptions {
  /** Jobs with the same id never run at the same time (one partition, one transform). */
  jobId?: string;
  attempts?: number;
}

export interface JobQueue {
  register<D, R>(name: string, handler: JobHandler<D, R>, options?: { concurrency?: number }): void;
  /** Runs `name` with `data` soon; resolves when it is queued. */
  enqueue(name: string, data: Record<string, unknown>, options?: EnqueueOptions): Promise<void>;
  /** Repeats `name` every `everyMs`. */
  schedule(name: string, everyMs: number, data?: Record<string, unknown>): Promise<void>;
  /** Starts running registered handlers (a scheduler-only process schedules but does not run). */
  start(): Promise<void>;
  /** Stops taking jobs; resolves once running jobs have finished. */
  stop(): Promise<void>;
}
