import type { JobContext } from '../infra/jobs/job-queue.port.js';
import type { ReplayInput, ReplayRunner, ReplayService } from './replay.service.js';
import type { DeadLetterQuery, DeadLetterService, RedriveInput } from './dead-letters.service.js';
import type { VisitorInspector } from './inspector.service.js';

/** `replay`: runs a queued replay (`replayId`), or records and runs one (the CLI: the input itself, as the operator). */
export function replayJob(deps: { service: ReplayService; runner: ReplayRunner }) {
  return async (ctx: JobContext<{ replayId?: string } & Partial<ReplayInput>>) => {
    let id = ctx.data.replayId;
    if (!id) {
      const { propertyId = '', from = '', to = '', dryRun = false, reason = '' } = ctx.data;
      id = (await deps.service.create({ propertyId, from, to, dryRun, reason }, { kind: 'operator', reason })).id;
    }
    return deps.runner.run(id, (done, total) => ctx.progress(done, total, 'partitions'));
  };
}

/** `redrive`: sends a property's kept dead letters through today's rules (the CLI, as the operator). */
export function redriveJob(deps: { deadLetters: DeadLetterService }) {
  return async (ctx: JobContext<RedriveInput>) =>
    deps.deadLetters.redrive(ctx.data, { kind: 'operator', reason: ctx.data.reason }, (done, total) => ctx.progress(done, total, 'dead letters'));
}

/** `dead-letters`: the listing (counts by reason, samples), run where the data dir's stores are (the CLI). */
export function deadLetterListJob(deps: { deadLetters: DeadLetterService }) {
  return async (ctx: JobContext<DeadLetterQuery>) => deps.deadLetters.list(ctx.data);
}

/** `inspect`: one visitor, run where the data dir's stores are (the CLI). */
export function inspectJob(deps: { inspector: VisitorInspector }) {
  return async (ctx: JobContext<Parameters<VisitorInspector['inspect']>[0]>) => deps.inspector.inspect(ctx.data);
}
