import { readFile, stat } from 'node:fs/promises';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { TallyError } from '../infra/errors.js';
import type { JobContext, JobHandler } from '../infra/jobs/job-queue.port.js';
import { DELETE_USER_JOB, requestDeletion, runDeletion, type DeleteUserJobData, type DeletionDeps } from './deletion.js';
import { writeExport, type ExportFormat } from './export.js';
import { detectFormat, importText, MAX_IMPORT_BYTES, type ImportFormat } from './import.js';
import type { ImportSink, PropertyLookup } from './lifecycle.ports.js';
import { orphanProperties, purgeProperty, PURGE_PROPERTY_JOB } from './purge.js';
import { enforceRetention, RETENTION_JOB, type PlanRetention } from './retention.js';

export interface LifecycleJobDeps extends DeletionDeps {
  sink: ImportSink;
  properties: PropertyLookup;
  plan: PlanRetention;
}

/** Job data from the CLI (`tally jobs`-style run through the management endpoint): the property and the command's options. */
interface CliJobData {
  propertyId?: string;
  options?: Record<string, unknown>;
}

export const IMPORT_FILE_JOB = 'import-file';
export const EXPORT_FILE_JOB = 'export-file';

/**
 * The lifecycle's jobs, registered on the worker's queue beside transform and load: a deletion
 * (queued by the API, or run by `tally delete-user`), the daily retention job, the purge of a
 * deleted property, and the CLI's file import and export (the file is on the worker's machine).
 */
export function lifecycleJobs(deps: LifecycleJobDeps): Record<string, JobHandler<any, unknown>> {
  const property = async (id: string | undefined) => {
    const p = id ? await deps.properties.property(id) : null;
    if (!p) throw new TallyError('not_found', `no property ${id ?? '(none given)'}`, { reason: 'unknown_property' });
    return p;
  };
  const str = (o: Record<string, unknown>, k: string) => (typeof o[k] === 'string' && o[k] ? (o[k] as string) : undefined);
  return {
    [DELETE_USER_JOB]: async (ctx: JobContext<DeleteUserJobData & CliJobData>) => {
      let job: DeleteUserJobData = ctx.data;
      if (!job.receiptId) {
        // `tally delete-user`: the receipt is written here, by the operator
        const p = await property(ctx.data.propertyId);
        const o = ctx.data.options ?? {};
        const userId = str(o, 'userId');
        const clientId = str(o, 'clientId');
        if (Boolean(userId) === Boolean(clientId))
          throw new TallyError('invalid_argument', 'exactly one of --user-id and --client-id', { reason: 'invalid_id' });
        const person = userId ? { kind: 'user_id' as const, id: userId } : { kind: 'client_id' as const, id: clientId! };
        job = (
          await requestDeletion(deps, { tenantId: p.tenantId, propertyId: p.propertyId, person, reason: str(o, 'reason') ?? '', actor: { kind: 'operator' } })
        ).job;
      }
      const counts = await runDeletion(deps, job, ctx.progress);
      return { receipt: await deps.repo.receipt(job.propertyId, job.receiptId), counts };
    },
    [RETENTION_JOB]: (ctx: JobContext) => enforceRetention(deps, Date.now(), ctx.progress),
    [PURGE_PROPERTY_JOB]: async (ctx: JobContext<{ tenantId?: string; propertyId?: string }>) => {
      // a named property only once it is gone; without one, every property whose data outlived it
      const targets =
        ctx.data.tenantId && ctx.data.propertyId && !(await deps.repo.propertyExists(ctx.data.propertyId))
          ? [{ tenantId: ctx.data.tenantId, propertyId: ctx.data.propertyId }]
          : await orphanProperties(deps);
      const purged = [];
      for (const t of targets) purged.push({ ...t, ...(await purgeProperty(deps, t)) });
      return { purged };
    },
    [IMPORT_FILE_JOB]: async (ctx: JobContext<CliJobData>) => {
      const p = await property(ctx.data.propertyId);
      const file = str(ctx.data.options ?? {}, 'file');
      if (!file) throw new TallyError('invalid_argument', 'a file to import is required', { reason: 'no_file' });
      const size = (await stat(file).catch(() => null))?.size;
      if (size === undefined) throw new TallyError('not_found', `no file ${file}`, { reason: 'no_file' });
      if (size > MAX_IMPORT_BYTES)
        throw new TallyError('payload_too_large', `at most ${MAX_IMPORT_BYTES} bytes per file: split it`, { reason: 'file_too_large' });
      const text = await readFile(file, 'utf8');
      const given = str(ctx.data.options ?? {}, 'format');
      const format =
        given === 'csv' || given === 'ndjson'
          ? (given as ImportFormat)
          : /\.csv$/i.test(file)
            ? 'csv'
            : /\.(nd)?jsonl?$/i.test(file)
              ? 'ndjson'
              : detectFormat(text);
      return importText({ sink: deps.sink }, p, text, format, ctx.progress);
    },
    [EXPORT_FILE_JOB]: async (ctx: JobContext<CliJobData>) => {
      const p = await property(ctx.data.propertyId);
      const o = ctx.data.options ?? {};
      const out = str(o, 'out');
      if (!out) throw new TallyError('invalid_argument', '--out FILE is required', { reason: 'no_file' });
      const stream = createWriteStream(out);
      await once(stream, 'open');
      const write = async (chunk: Buffer | string) => {
        if (!stream.write(chunk)) await once(stream, 'drain');
      };
      try {
        const rows = await writeExport(
          deps.warehouse,
          {
            tenantId: p.tenantId,
            propertyId: p.propertyId,
            from: str(o, 'from') ?? '',
            to: str(o, 'to') ?? '',
            format: (str(o, 'format') ?? 'ndjson') as ExportFormat,
          },
          write,
          ctx.progress,
        );
        stream.end();
        await once(stream, 'finish');
        return { rows, out };
      } catch (err) {
        stream.destroy();
        throw err;
      }
    },
  };
}
