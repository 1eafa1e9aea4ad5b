import type { Config } from '../infra/config/config.js';
import type { Logger } from '../infra/logger.js';
import type { Db } from '../infra/metadata/db.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { JobHandler, JobQueue } from '../infra/jobs/job-queue.port.js';
import type { CredentialCache } from '../tenancy/credential-cache.js';
import { appendAudit } from '../tenancy/audit.repository.js';
import type { ApiRoute } from '../tenancy/accounts.routes.js';
import { geoipLite } from '../ingest/geo.js';
import { deadLetterReadmitter } from '../ingest/redrive.js';
import type { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { PartitionLocks } from '../../jobs/partition-locks.repository.js';
import { DeadLetterService } from '../support/dead-letters.service.js';
import { VisitorInspector, type LogTailSource } from '../support/inspector.service.js';
import { ReplayRepository } from '../support/replay.repository.js';
import { ReplayRunner, ReplayService } from '../support/replay.service.js';
import { deadLetterListJob, inspectJob, redriveJob, replayJob } from '../support/support.jobs.js';
import { SUPPORT_ROUTES, type SupportServices } from '../support/support.routes.js';
import type { AuditWriter, FeatureGate, PropertyLookup, RedriveUsage } from '../support/support.ports.js';
import { addUsage } from '../billing/usage-meter.js';
import { QUOTA_REDRIVE_JOB, quotaRedriveJob } from '../billing/quota-redrive.js';
import type { Module } from './module.types.js';
import { openTransformEngine } from './infra.factory.js';
import fs from 'node:fs';
import path from 'node:path';

/** What every piece of the support tools is built from (src/support; wired here). */
export interface SupportWiring {
  config: Config;
  logger: Logger;
  db: Db;
  store: ObjectStore;
  log: EventLog;
  state: PipelineStateRepository;
  credentials: CredentialCache;
  jobs?: JobQueue;
  /** The plan's feature gate (billing's entitlements); absent: nothing gated (tests of the tools themselves). */
  features?: FeatureGate;
  /** Resolves once the archiver has written what the event log holds now (worker: billing's quota redrive waits for it). */
  caughtUp?: () => Promise<void>;
}

function lookups(w: SupportWiring): { properties: PropertyLookup; audit: AuditWriter } {
  const property = async (id: string) => w.credentials.property(id) ?? (await w.credentials.refresh(), w.credentials.property(id));
  return {
    // a tenant is an organisation: the property's tenant id is its organisation's id
    properties: async (id) => {
      if (!/^\d{1,18}$/.test(id)) return null;
      const p = await property(id);
      return p ? { settings: p, organizationId: p.tenantId } : null;
    },
    audit: (actor, entry) => appendAudit(w.db, actor, entry),
  };
}

function deadLetters(w: SupportWiring, l: ReturnType<typeof lookups>): DeadLetterService {
  const readmit = deadLetterReadmitter({ property: (id) => w.credentials.property(id), hosts: w.credentials, geo: geoipLite() });
  return new DeadLetterService({ db: w.db, store: w.store, log: w.log, properties: l.properties, readmit, audit: l.audit, usage: redriveUsage });
}

/** A redriven event is an accepted event: counted in billing's usage (the hour of the redrive). */
const redriveUsage: RedriveUsage = (db, e) => addUsage(db, [{ tenantId: e.tenantId, propertyId: e.propertyId, hour: e.at, events: e.events, deadLetters: 0 }]);

/** The services behind the support routes (api role). */
export function supportServices(w: SupportWiring): SupportServices {
  const l = lookups(w);
  const replays = new ReplayRepository(w.db);
  const dl = deadLetters(w, l);
  return {
    replays: new ReplayService({ replays, properties: l.properties, jobs: w.jobs, features: w.features }),
    deadLetters: dl,
    inspector: visitorInspector(w, l, dl),
    organizationOfProperty: async (id) => (await l.properties(id))?.organizationId ?? null,
  };
}

/** The `replay` and `redrive` job handlers (worker role: it has the engine and the warehouse). */
export function supportJobHandlers(w: SupportWiring & { warehouse: Warehouse }): Record<string, JobHandler<any, unknown>> {
  const l = lookups(w);
  const replays = new ReplayRepository(w.db);
  const runner = new ReplayRunner({
    replays,
    store: w.store,
    engineFor: (store) => openTransformEngine(w.config, store),
    warehouse: w.warehouse,
    pipeline: w.state,
    locks: new PartitionLocks(w.db),
    properties: l.properties,
    audit: l.audit,
    logger: w.logger,
    tempDir: tempDir(w.config),
  });
  const dl = deadLetters(w, l);
  const inspector = visitorInspector(w, l, dl);
  return {
    replay: replayJob({ service: new ReplayService({ replays, properties: l.properties }), runner }),
    redrive: redriveJob({ deadLetters: dl }),
    'dead-letters': deadLetterListJob({ deadLetters: dl }),
    inspect: inspectJob({ inspector }),
    // billing's re-drive after an upgrade, through support's redrive (the port billing declares)
    [QUOTA_REDRIVE_JOB]: quotaRedriveJob({ db: w.db, redrive: (input) => dl.redrive(input, { kind: 'operator', reason: input.note }), caughtUp: w.caughtUp }),
  };
}

/** The inspector also reads what the archiver (consumer group `archiver`, jobs/archiver.ts) has not filed yet. */
function visitorInspector(w: SupportWiring, l: ReturnType<typeof lookups>, dl: DeadLetterService): VisitorInspector {
  const tail: LogTailSource = { log: w.log, group: 'archiver' };
  return new VisitorInspector({ store: w.store, pipeline: w.state, properties: l.properties, deadLetters: dl, tempDir: tempDir(w.config), tail });
}

/** Where the diff and the inspector copy Parquet files (created here: an api process may have no engine to make it). */
function tempDir(config: Config): string {
  const dir = path.join(config.core.dataDir, 'tmp');
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** The support route table as management API routes, behind tenancy's guard (`services` null: for the OpenAPI document only). */
export function supportApiRoutes(services: SupportServices | null): ApiRoute[] {
  return SUPPORT_ROUTES.map((r) => ({
    method: r.method,
    path: r.path,
    access: r.access,
    scope: r.scope,
    orgOf: r.orgOf && services ? (p) => r.orgOf!(p, services) : undefined,
    body: r.body,
    query: r.query,
    summary: r.summary,
    status: r.status,
    handler: async (ctx) => {
      if (!services) throw new Error('support routes are not wired in this process');
      return r.handler({ params: ctx.params, query: ctx.req.query as Record<string, unknown>, body: ctx.body, actor: ctx.actor, orgId: ctx.orgId! }, services);
    },
  }));
}

/** The support routes of the api role; a member's replay needs the plan's `replay` feature (staff are not gated). */
export const SUPPORT_MODULE: Module<'support'> = {
  needs: ['db', 'store', 'state', 'eventLog', 'credentials', 'jobs', 'billing'],
  start: ({ config, logger, get }) => {
    const entitlements = get('billing').entitlements;
    return {
      routes: supportApiRoutes(
        supportServices({
          config,
          logger,
          db: get('db'),
          store: get('store'),
          log: get('eventLog'),
          state: get('state'),
          credentials: get('credentials'),
          jobs: get('jobs'),
          features: (organizationId, feature) => entitlements.assertFeature(organizationId, feature),
        }),
      ),
    };
  },
};
