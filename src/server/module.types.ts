import type http from 'node:http';
import type { Redis } from 'ioredis';
import type { Config } from '../infra/config/config.js';
import type { Logger } from '../infra/logger.js';
import type { Db } from '../infra/metadata/db.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { TransformEngine } from '../infra/transform/transform-engine.port.js';
import type { Counters } from '../infra/counters/counters.port.js';
import type { JobHandler, JobQueue, JobRunner } from '../infra/jobs/job-queue.port.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import type { DirLock } from '../infra/dir-lock.js';
import type { SqlParser } from '../infra/sql/sql-parser.port.js';
import type { RegexSyntax } from '../infra/regex/regex-syntax.port.js';
import type { CredentialCache } from '../tenancy/credential-cache.js';
import type { CredentialVersionWatcher } from '../tenancy/credential-version.js';
import type { mountAccounts } from '../tenancy/accounts.module.js';
import type { ApiRoute } from '../tenancy/accounts.routes.js';
import type { UsageMeter } from '../billing/usage-meter.js';
import type { BillingProvider } from '../billing/billing-provider.js';
import type { EntitlementsReader } from '../billing/entitlements.js';
import type { BillingService } from '../billing/billing.service.js';
import type { BillingRoute } from '../billing/billing.routes.js';
import type { QuotaNotifier } from '../billing/quota-notices.js';
import type { lifecycleRoutes } from '../lifecycle/lifecycle.routes.js';
import type { RealtimeTail } from '../query/realtime-tail.js';
import type { Archiver } from '../../jobs/archiver.js';
import type { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import type { HttpMounts } from './http-mounts.js';
import type { createOpsEndpoints } from './health.js';
import type { Role } from './role.js';

/*
 * The module table's types, apart from the table (modules.ts) so that the *.module.ts files the
 * table lists can name them without importing the table back.
 */

export type { Role };

export interface BillingPart {
  provider: BillingProvider;
  /** `entitlementsFor(orgId)`: what every gate reads (plan limits, features, billing state). */
  entitlements: EntitlementsReader;
  service: BillingService;
  notifier: QuotaNotifier;
  routes: BillingRoute[];
  mailer: Mailer;
}

/** The lifecycle's API routes (served by the accounts module) and what a property's deletion queues. */
export interface LifecycleApiPart {
  routes: ReturnType<typeof lifecycleRoutes>;
  onPropertiesDeleted(organizationId: string, propertyIds: string[]): Promise<void>;
}

export interface ModuleContext {
  config: Config;
  logger: Logger;
  roles: readonly Role[];
  /** A started module's value; only modules named in `needs` (or started earlier) may be asked for. */
  get<K extends ModuleName>(name: K): Parts[K];
  /** A module's value when some role started it, else null (optional wiring). */
  maybe<K extends ModuleName>(name: K): Parts[K] | null;
  http: HttpMounts;
}

/** What each module hands to the ones after it (and to `TallyHandle`). */
export interface Parts {
  /** `lock` is held (and the data dir ours alone) when the configuration keeps single-process state there. */
  dataDir: { adminToken: string; lock: DirLock | null };
  eventLog: EventLog;
  db: Db;
  store: ObjectStore;
  state: PipelineStateRepository;
  credentials: CredentialCache;
  credentialVersion: CredentialVersionWatcher;
  keyUse: { timer: NodeJS.Timeout; flush(): Promise<void> };
  usage: UsageMeter;
  billing: BillingPart;
  billingWebhook: true;
  billingMeter: { timer: NodeJS.Timeout | null };
  billingRedrive: { timer: NodeJS.Timeout };
  warehouse: Warehouse;
  engine: TransformEngine;
  archiver: Archiver;
  jobs: JobQueue;
  pipeline: { handlers: Record<string, JobHandler<any, unknown>>; runJob: JobRunner };
  schedule: true;
  collector: { drain(): void; counters: Counters; saltRedis: Redis | null };
  apiObserve: true;
  openapi: true;
  /** The loopback admin listener, in a process holding the data dir. */
  management: { port: number; close(): Promise<void> } | null;
  /** The data lifecycle's API routes (deletion, export, import, retention), guarded by the accounts router. */
  lifecycleApi: LifecycleApiPart;
  /** The support tools' routes (replay, dead letters, inspector), mounted by `accounts`. */
  support: { routes: ApiRoute[] };
  accounts: Awaited<ReturnType<typeof mountAccounts>> & { counters: Counters };
  reports: { regexSyntax: RegexSyntax; counters: Counters; sqlParser: SqlParser; realtime: RealtimeTail };
  metrics: { unsetSources(): void };
  health: { ops: ReturnType<typeof createOpsEndpoints>; listener: { port: number; close(): Promise<void> } | null };
  console: true;
  http: { server: http.Server; port: number; listening: boolean };
}

export type ModuleName = keyof Parts;

export interface Module<K extends ModuleName> {
  /** Modules started before this one (pulled in even when no role names them). */
  needs?: ModuleName[];
  start(ctx: ModuleContext): Parts[K] | Promise<Parts[K]>;
  /** Called in reverse start order. */
  stop?(part: Parts[K], ctx: ModuleContext): void | Promise<void>;
}
