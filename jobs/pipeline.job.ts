import { TallyError } from '../src/infra/errors.js';
import type { JobContext, JobHandler, JobRunner } from '../src/infra/jobs/job-queue.port.js';
import type { PipelineStateRepository } from './pipeline-state.repository.js';
import type { TransformJobData } from './transform.job.js';

/** What the pipeline needs of the archiver: "everything the log holds now is in raw objects". */
export interface ArchiverProgress {
  caughtUp(timeoutMs?: number): Promise<void>;
}

export interface PipelineJobDeps {
  transform: JobHandler<TransformJobData, unknown>;
  load: JobHandler<{ propertyId?: string }, unknown>;
  state: PipelineStateRepository;
  /** Absent in a process that runs no archiver: nothing is then marked complete. */
  archiver: ArchiverProgress | null;
}

/**
 * Transform then load, and then the completeness mark: whatever was acknowledged before `mark` is
 * archived once the archiver reaches the end of the log it sees now, so it is in raw objects up to
 * `upto`, transformed and loaded by the end of this run. Only then is `mark` recorded as complete.
 */
export function pipelineJob(deps: PipelineJobDeps) {
  return async (ctx: JobContext<TransformJobData>) => {
    const mark = new Date();
    const caughtUp = deps.archiver
      ? await deps.archiver.caughtUp(120_000).then(
          () => true,
          () => false,
        )
      : false;
    const upto = await deps.state.maxRawSeq();
    const result = { transform: await deps.transform(ctx), load: await deps.load(ctx) };
    if (caughtUp && !ctx.signal.aborted) await deps.state.markComplete(mark, upto, ctx.data.propertyId);
    return result;
  };
}

/**
 * Runs one of `handlers` now, in this process. "Run now" covers everything acknowledged so far, so
 * the archiver reaches the log's end first (a load reads only what a transform already wrote).
 */
export function jobRunner(handlers: Record<string, JobHandler<any, unknown>>, archiver: ArchiverProgress | null): JobRunner {
  return async (name, data, progress) => {
    const h = handlers[name];
    if (!h) throw new TallyError('not_found', `no job ${name} here (jobs: ${Object.keys(handlers).join(', ') || 'none'})`);
    if (name !== 'load') await archiver?.caughtUp(120_000);
    return h({ name, data, progress, signal: new AbortController().signal });
  };
}
