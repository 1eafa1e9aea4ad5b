import type { TenantProperty } from '../domain/tenant-property.js';
import type { Db } from '../infra/metadata/db.js';
import type { JobContext, JobHandler } from '../infra/jobs/job-queue.port.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { IngestService } from '../ingest/ingest.service.js';
import { parseNative } from '../ingest/protocols/native.parser.js';
import { geoipLite, type GeoLookup } from '../ingest/geo.js';
import type { UsageRecorder } from '../ingest/ingest.ports.js';
import { appendAudit } from '../tenancy/audit.repository.js';
import type { AuditPort, ImportSink, PipelinePort, PropertyLookup, RawManifest } from '../lifecycle/lifecycle.ports.js';
import type { Logger } from '../infra/logger.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { JobQueue } from '../infra/jobs/job-queue.port.js';
import { lifecycleJobs } from '../lifecycle/lifecycle.jobs.js';
import { lifecycleRoutes, type LifecycleApi } from '../lifecycle/lifecycle.routes.js';
import type { LifecycleApiPart, Module } from './module.types.js';
import { LifecycleRepository } from '../lifecycle/lifecycle.repository.js';
import { planRetention, type PlanRetention } from '../lifecycle/retention.js';
import { PURGE_PROPERTY_JOB } from '../lifecycle/purge.js';

/** Where the lifecycle reads a plan's retention per data class: the one plan definition (src/domain/plans.ts). */
const PLAN_RETENTION: PlanRetention = planRetention;

interface Credentials {
  property(id: string): TenantProperty | null;
  refresh(): Promise<unknown>;
}

/** The lifecycle's jobs on the worker (the pipeline module registers them beside transform and load). */
export function lifecycleWorkerJobs(d: {
  db: Db;
  store: ObjectStore;
  warehouse: Warehouse;
  eventLog: EventLog;
  usage: UsageRecorder;
  credentials: Credentials;
  manifest: RawManifest;
  transform: JobHandler<any, unknown>;
  load: JobHandler<any, unknown>;
  archiver: { caughtUp(timeoutMs?: number): Promise<void> } | null;
  logger: Logger;
}) {
  return lifecycleJobs({
    repo: new LifecycleRepository(d.db),
    store: d.store,
    manifest: d.manifest,
    warehouse: d.warehouse,
    pipeline: pipelinePort({ transform: d.transform, load: d.load }, d.archiver),
    audit: auditPort(d.db),
    logger: d.logger,
    sink: importSink({ log: d.eventLog, usage: d.usage }),
    properties: propertyLookup(d.credentials),
    plan: PLAN_RETENTION,
  });
}

/** The lifecycle's API routes (served by the accounts module) and what a property's deletion queues. */
export function lifecycleApiPart(d: {
  db: Db;
  warehouse: Warehouse;
  eventLog: EventLog;
  usage: UsageRecorder;
  credentials: Credentials;
  jobs: JobQueue;
  readAllowed?: LifecycleApi['readAllowed'];
}): LifecycleApiPart {
  const routes = lifecycleRoutes({
    repo: new LifecycleRepository(d.db),
    warehouse: d.warehouse,
    jobs: d.jobs,
    sink: importSink({ log: d.eventLog, usage: d.usage }),
    properties: propertyLookup(d.credentials),
    plan: PLAN_RETENTION,
    audit: auditPort(d.db),
    readAllowed: d.readAllowed,
  });
  return { routes, onPropertiesDeleted: queuePurges(d.jobs) };
}

/**
 * What a deletion of properties (API, `tally tenant delete`) queues: a worker erases each deleted
 * property's data from every zone (`purge-property`); the daily retention job sweeps what remains.
 */
export function queuePurges(jobs: Pick<JobQueue, 'enqueue'>): (organizationId: string, propertyIds: string[]) => Promise<void> {
  return async (organizationId, propertyIds) => {
    for (const propertyId of propertyIds) await jobs.enqueue(PURGE_PROPERTY_JOB, { tenantId: organizationId, propertyId }, { jobId: `purge:${propertyId}` });
  };
}

/** The api process's lifecycle routes; an export needs the plan's `export` feature and is closed by billing's read gate like the reports (payment overdue: 403). */
export const LIFECYCLE_API_MODULE: Module<'lifecycleApi'> = {
  needs: ['db', 'warehouse', 'eventLog', 'credentials', 'usage', 'jobs', 'billing'],
  start: ({ get }) =>
    lifecycleApiPart({
      db: get('db'),
      warehouse: get('warehouse'),
      eventLog: get('eventLog'),
      usage: get('usage'),
      credentials: get('credentials'),
      jobs: get('jobs'),
      readAllowed: async (organizationId) => {
        // the plan's `export` feature (403 plan_feature_unavailable), then the payment gate
        await get('billing').entitlements.assertFeature(organizationId, 'export');
        await get('billing').entitlements.assertReadAllowed(organizationId);
      },
    }),
};

/**
 * The lifecycle's ports on the other features (src/lifecycle/lifecycle.ports.ts): ingest's native
 * parser and event log for imports, the transform and load jobs for a deletion's rebuild,
 * tenancy's properties and audit log.
 */
export function importSink(deps: { log: EventLog; usage?: UsageRecorder }): ImportSink {
  // geo only when a row names an IP: the GeoLite data (~1 s to load) stays out of processes that never import one
  let geo: GeoLookup | null = null;
  const lazyGeo: GeoLookup = { lookup: (ip, prefix) => (geo ??= geoipLite()).lookup(ip, prefix) };
  const ingest = new IngestService({ log: deps.log, counters: new MemoryCounters(), geo: lazyGeo, usage: deps.usage });
  return {
    async append(property: TenantProperty, rows) {
      const refused: { index: number; detail: string }[] = [];
      const items: Parameters<IngestService['acceptAt']>[1] = [];
      rows.forEach(({ row, receivedAt }, index) => {
        // the row's own time is its receipt: never "older than 72 hours", filed where it happened
        const r = parseNative({ events: [row] }, { receivedAt });
        if (r.refused.length) refused.push({ index, detail: r.refused[0].detail });
        else items.push({ parsed: r.events[0], receivedAt });
      });
      await ingest.acceptAt('native', items, property);
      return { refused };
    },
  };
}

export function pipelinePort(
  handlers: { transform: JobHandler<any, unknown>; load: JobHandler<any, unknown> },
  archiver: { caughtUp(timeoutMs?: number): Promise<void> } | null,
): PipelinePort {
  const ctx = (name: string, data: Record<string, unknown>, progress: JobContext['progress']): JobContext<any> => ({
    name,
    data,
    progress,
    signal: new AbortController().signal,
  });
  return {
    archiverCaughtUp: async () => archiver?.caughtUp(120_000),
    async rebuild(propertyId, progress) {
      const t = (await handlers.transform(ctx('transform', { propertyId, full: true }, progress))) as { properties?: { dates: string[] }[] };
      const l = (await handlers.load(ctx('load', { propertyId }, progress))) as { partitions?: number };
      return { dates: (t.properties ?? []).reduce((n, p) => n + p.dates.length, 0), partitions: l.partitions ?? 0 };
    },
  };
}

export function propertyLookup(credentials: { property(id: string): TenantProperty | null; refresh(): Promise<unknown> }): PropertyLookup {
  return {
    async property(id) {
      if (!/^\d{1,18}$/.test(id)) return null;
      return credentials.property(id) ?? (await credentials.refresh(), credentials.property(id));
    },
  };
}

export function auditPort(db: Db): AuditPort {
  return (actor, e) => appendAudit(db, { kind: actor.kind, userId: actor.userId ?? null, ip: actor.ip ?? null, reason: actor.reason ?? null }, e);
}
