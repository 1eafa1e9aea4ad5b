import type { Request, Response } from 'express';
import { z } from 'zod';
import { TallyError } from '../infra/errors.js';
import type { JobQueue } from '../infra/jobs/job-queue.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { DELETE_USER_JOB, requestDeletion } from './deletion.js';
import { EXPORT_FORMATS, writeExport, type ExportFormat } from './export.js';
import { importText, type ImportFormat } from './import.js';
import type { AuditPort, ImportSink, LifecycleActor, PropertyLookup } from './lifecycle.ports.js';
import { DATA_CLASSES, type LifecycleRepository } from './lifecycle.repository.js';
import { retentionOf, setRetention, type PlanRetention } from './retention.js';

/** What the lifecycle's routes use, wired by src/server. */
export interface LifecycleApi {
  repo: LifecycleRepository;
  warehouse: Warehouse;
  jobs: JobQueue;
  sink: ImportSink;
  properties: PropertyLookup;
  plan: PlanRetention;
  audit: AuditPort;
  /** Billing's gates, asked before an export streams: the plan's `export` feature, then payment (past its grace period: 403). */
  readAllowed?: (organizationId: string) => Promise<void>;
}

/** What a route handler gets from the management API's guard (src/tenancy/accounts.router.ts). */
export interface LifecycleRouteContext {
  req: Request;
  res: Response;
  actor: LifecycleActor;
  orgId: string | null;
  params: Record<string, string>;
  body: any;
}

/** The permissions these routes need, declared in tenancy's permission table. */
export type LifecyclePermission = 'properties.read' | 'data.delete' | 'data.export' | 'data.import' | 'retention.manage';

export interface LifecycleRoute {
  method: 'get' | 'post' | 'patch';
  path: string;
  access: LifecyclePermission;
  scope: 'property';
  body?: z.ZodType;
  query?: z.ZodType;
  summary: string;
  status?: number;
  handler: (ctx: LifecycleRouteContext, api: LifecycleApi) => Promise<unknown>;
}

/** The biggest import body the API takes; the CLI reads bigger files. */
export const MAX_API_IMPORT_BYTES = 64 * 1024 * 1024;

const Deletion = z
  .strictObject({
    userId: z.string().min(1).max(256).optional(),
    clientId: z.string().min(1).max(256).optional(),
    reason: z.string().trim().min(1).max(500),
  })
  .refine((b) => Boolean(b.userId) !== Boolean(b.clientId), 'exactly one of userId and clientId');
const Days = z.number().int().min(1).max(36_500).nullable().optional();
const Retention = z.strictObject(Object.fromEntries(DATA_CLASSES.map((c) => [c, Days])) as Record<(typeof DATA_CLASSES)[number], typeof Days>);
const ExportQuery = z.object({
  from: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  to: z.string().regex(/^\d{4}-\d{2}-\d{2}$/),
  format: z.enum(EXPORT_FORMATS).optional(),
});

const CONTENT_TYPES: Record<ExportFormat, string> = {
  ndjson: 'application/x-ndjson',
  csv: 'text/csv; charset=utf-8',
  parquet: 'application/vnd.apache.parquet',
};

async function propertyOf(api: LifecycleApi, propertyId: string) {
  const p = await api.properties.property(propertyId);
  if (!p) throw new TallyError('not_found', 'no such property', { reason: 'not_found' });
  return p;
}

/** The lifecycle's routes under the management API: each declares its permission, checked per property (tenant walls). */
export const LIFECYCLE_ROUTES: LifecycleRoute[] = [
  {
    method: 'post',
    path: '/api/properties/:propertyId/deletions',
    access: 'data.delete',
    scope: 'property',
    body: Deletion,
    status: 202,
    summary:
      "Delete one person's data (GDPR / CCPA) by userId or clientId: raw zone rewritten without them, transformed partitions rebuilt, warehouse reloaded. Answers the receipt (state queued); GET it for the counts.",
    async handler(ctx, api) {
      const p = await propertyOf(api, ctx.params.propertyId);
      const person = ctx.body.userId ? { kind: 'user_id' as const, id: ctx.body.userId } : { kind: 'client_id' as const, id: ctx.body.clientId };
      const { receipt, job } = await requestDeletion(api, {
        tenantId: p.tenantId,
        propertyId: p.propertyId,
        person,
        reason: ctx.body.reason,
        actor: ctx.actor,
      });
      await api.jobs.enqueue(DELETE_USER_JOB, { ...job }, { jobId: `delete:${receipt.id}`, attempts: 3 });
      return { deletion: receipt };
    },
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/deletions',
    access: 'data.delete',
    scope: 'property',
    summary: "The property's deletion receipts, newest first: state, counts removed per zone, reason, who asked (never the identifier: its SHA-256).",
    handler: async (ctx, api) => ({ deletions: await api.repo.receipts(ctx.params.propertyId) }),
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/deletions/:deletionId',
    access: 'data.delete',
    scope: 'property',
    summary: 'One deletion receipt.',
    async handler(ctx, api) {
      const r = await api.repo.receipt(ctx.params.propertyId, ctx.params.deletionId);
      if (!r) throw new TallyError('not_found', 'no such deletion', { reason: 'not_found' });
      return { deletion: r };
    },
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/export',
    access: 'data.export',
    scope: 'property',
    query: ExportQuery,
    summary: "Streams the property's events of local dates from..to (both included) in GA4's BigQuery export layout: ?format=ndjson (default), csv or parquet.",
    async handler(ctx, api) {
      const p = await propertyOf(api, ctx.params.propertyId);
      await api.readAllowed?.(p.tenantId);
      const q = ctx.req.query as Record<string, string>;
      const format = (q.format ?? 'ndjson') as ExportFormat;
      const { res } = ctx;
      let started = false;
      const write = async (chunk: Buffer | string) => {
        if (!started) {
          started = true;
          res.status(200).setHeader('content-type', CONTENT_TYPES[format]);
          res.setHeader('content-disposition', `attachment; filename="tally-${p.propertyId}-${q.from}-${q.to}.${format}"`);
        }
        if (!res.write(chunk)) await new Promise((r) => res.once('drain', r));
      };
      await writeExport(api.warehouse, { tenantId: p.tenantId, propertyId: p.propertyId, from: q.from, to: q.to, format }, write);
      if (!started) await write('');
      res.end();
      return undefined;
    },
  },
  {
    method: 'post',
    path: '/api/properties/:propertyId/imports',
    access: 'data.import',
    scope: 'property',
    status: 200,
    summary:
      'Backfill: the body is an NDJSON (Content-Type application/x-ndjson) or CSV (text/csv, with a header) file of events that keep their timestamps; through ingest validation into the event log, idempotent by event id. Answers rows, imported, and refused rows with line numbers.',
    async handler(ctx, api) {
      const p = await propertyOf(api, ctx.params.propertyId);
      const text = await readBody(ctx.req, MAX_API_IMPORT_BYTES);
      const type = String(ctx.req.headers['content-type'] ?? '');
      const format: ImportFormat | undefined = /csv/i.test(type) ? 'csv' : /json/i.test(type) ? 'ndjson' : undefined;
      const result = await importText({ sink: api.sink }, p, text, format);
      await api.audit(ctx.actor, {
        organizationId: p.tenantId,
        action: 'data.import',
        targetType: 'property',
        targetId: p.propertyId,
        after: { rows: result.rows, imported: result.imported, refused: result.refused.length },
      });
      return result;
    },
  },
  {
    method: 'get',
    path: '/api/properties/:propertyId/retention',
    access: 'properties.read',
    scope: 'property',
    summary: "How long each data class is kept (days): the plan's, the property's own setting, and the effective value the daily job enforces.",
    async handler(ctx, api) {
      const p = await propertyOf(api, ctx.params.propertyId);
      return { retention: await retentionOf(api.repo, api.plan, p) };
    },
  },
  {
    method: 'patch',
    path: '/api/properties/:propertyId/retention',
    access: 'retention.manage',
    scope: 'property',
    body: Retention,
    summary:
      "Sets the property's retention per data class in days (raw, transformed, warehouse, deadLetters), at most the plan's; null returns a class to the plan's.",
    async handler(ctx, api) {
      const p = await propertyOf(api, ctx.params.propertyId);
      const before = await retentionOf(api.repo, api.plan, p);
      const retention = await setRetention(api.repo, api.plan, p, ctx.body);
      await api.audit(ctx.actor, {
        organizationId: p.tenantId,
        action: 'property.retention',
        targetType: 'property',
        targetId: p.propertyId,
        after: { before: before.property, after: retention.property },
      });
      return { retention };
    },
  },
];

async function readBody(req: Request, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    n += c.length;
    if (n > limit)
      throw new TallyError('payload_too_large', `an import body is at most ${limit} bytes (the CLI takes bigger files)`, { reason: 'body_too_large' });
    chunks.push(c);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The routes with their handlers bound to `api`, in the management API's route shape (`null`: for the OpenAPI document only). */
export function lifecycleRoutes(api: LifecycleApi | null) {
  return LIFECYCLE_ROUTES.map((r) => ({
    ...r,
    handler: async (ctx: LifecycleRouteContext) => {
      if (!api) throw new Error('lifecycle routes are not wired in this process');
      return r.handler(ctx, api);
    },
  }));
}
