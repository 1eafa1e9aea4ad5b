import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import type { Config } from '../infra/config/config.js';
import { openDb } from '../infra/metadata/db.js';
import type { JobHandler } from '../infra/jobs/job-queue.port.js';
import { CredentialCache } from '../tenancy/credential-cache.js';
import { loadCredentials, touchKeys } from '../tenancy/tenant.repository.js';
import { ensureAdminToken, removeServerInfo, writeServerInfo } from '../tenancy/admin-token.js';
import { createManagementRouter } from '../tenancy/management.router.js';
import { mountAccounts } from '../tenancy/accounts.module.js';
import { createConsoleRouter } from './console.static.js';
import { CredentialVersionWatcher } from '../tenancy/credential-version.js';
import { acquireDirLock } from '../infra/dir-lock.js';
import { startAdminListener } from './admin-listener.js';
import { UsageMeter } from '../billing/usage-meter.js';
import { IngestService } from '../ingest/ingest.service.js';
import { createCollector } from '../ingest/collector.http.js';
import { PROTOCOL_ROUTES } from '../ingest/protocol-routes.js';
import { geoipLite } from '../ingest/geo.js';
import { SharedSaltStore, VisitorIds } from '../ingest/visitor-id.js';
import { createApiFallbackRouter } from '../query/api-fallback.router.js';
import { Archiver } from '../../jobs/archiver.js';
import { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { transformJob } from '../../jobs/transform.job.js';
import { loadJob } from '../../jobs/load.job.js';
import { compactJob } from '../../jobs/compact.job.js';
import { fxRatesJob } from '../../jobs/fx-rates.job.js';
import { downloadEcbRates } from '../infra/fx/ecb-rates.js';
import { jobRunner, pipelineJob } from '../../jobs/pipeline.job.js';
import { proxyTrust } from '../infra/http/proxy-trust.js';
import { observedJob } from '../infra/jobs/observed-job.js';
import { metrics } from '../infra/metrics/metrics.js';
import { openApiDocument } from './openapi.js';
import { HttpMounts } from './http-mounts.js';
import type { Module, ModuleContext, ModuleName, Parts, Role } from './module.types.js';
import { BILLING_METER_MODULE, BILLING_MODULE, BILLING_REDRIVE_MODULE, BILLING_WEBHOOK_MODULE } from './billing.module.js';
import { createOpsEndpoints, readinessChecks, startHealthListener } from './health.js';
import { observeApiRequests } from './api-observe.js';
import { RETENTION_JOB } from '../lifecycle/retention.js';
import { LIFECYCLE_API_MODULE, lifecycleWorkerJobs, queuePurges } from './lifecycle.wiring.js';
import { SUPPORT_MODULE, supportJobHandlers } from './support.module.js';
import { REPORTS_MODULE } from './reports.module.js';
import { PartitionLocks } from '../../jobs/partition-locks.repository.js';
import { openCounters, openEventLog, openJobQueue, openMailer, openObjectStore, openTransformEngine, openWarehouse } from './infra.factory.js';

export type { Module, ModuleContext, ModuleName, Parts, Role };
export { HttpMounts };

/**
 * The module table (as Loki's modules): what each needs, what it starts, how it stops. The key
 * order is the start order; stop runs in reverse, so a module stops before what it needs. A new
 * module (accounts, billing, support, metrics) is a `Parts` entry, a row here and its name in a
 * role's list.
 */
export const MODULES: { [K in ModuleName]: Module<K> } = {
  dataDir: {
    async start({ config }) {
      fs.mkdirSync(config.core.dataDir, { recursive: true, mode: 0o700 });
      // the data-dir lock before anything is written: a refused second start changes nothing
      const lock = holdsDataDir(config) ? await acquireDirLock(config.core.dataDir, 'data dir') : null;
      return { adminToken: ensureAdminToken(config.core.dataDir), lock };
    },
    async stop(p, { config }) {
      if (!p.lock) return;
      removeServerInfo(config.core.dataDir);
      await p.lock.release();
    },
  },
  eventLog: {
    needs: ['dataDir'],
    start: ({ config, logger }) => openEventLog(config, logger),
    stop: (log) => log.close(),
  },
  db: {
    needs: ['dataDir'],
    start: ({ config, logger }) => openDb({ url: config.db.url, dataDir: config.core.dataDir, logger }),
    stop: (db) => db.destroy(),
  },
  store: {
    start: ({ config }) => openObjectStore(config),
    stop: (store) => store.close(),
  },
  state: {
    needs: ['db'],
    start: (ctx) => new PipelineStateRepository(ctx.get('db')),
  },
  credentials: {
    needs: ['db'],
    async start({ get, logger }) {
      const db = get('db');
      const credentials = new CredentialCache(() => loadCredentials(db), { refreshMs: 10_000, log: logger });
      await credentials.start();
      return credentials;
    },
    stop: (credentials) => credentials.stop(),
  },
  // a revoked or rotated key counts in every process within about a second (issue 9 §3)
  credentialVersion: {
    needs: ['db', 'credentials'],
    start({ get, logger }) {
      const w = new CredentialVersionWatcher(get('db'), () => get('credentials').refresh(), { log: logger });
      w.start();
      return w;
    },
    stop: (w) => w.stop(),
  },
  keyUse: {
    needs: ['db', 'credentials'],
    start({ get, logger }) {
      const flush = () => touchKeys(get('db'), get('credentials').takeUsed()).catch((err) => logger.warn({ err }, 'could not record key use'));
      const timer = setInterval(() => void flush(), 30_000);
      timer.unref();
      return { timer, flush };
    },
    async stop(p) {
      clearInterval(p.timer);
      await p.flush();
    },
  },
  usage: {
    needs: ['db'],
    start({ get, logger }) {
      const usage = new UsageMeter(get('db'), logger);
      usage.start();
      return usage;
    },
    stop: (usage) => usage.stop(),
  },
  billing: BILLING_MODULE,
  billingMeter: BILLING_METER_MODULE,
  warehouse: {
    needs: ['store'],
    start: ({ config, get }) => openWarehouse(config, get('store')),
    stop: (w) => w.close(),
  },
  engine: {
    needs: ['store'],
    start: ({ config, get }) => openTransformEngine(config, get('store')),
    stop: (e) => e.close(),
  },
  archiver: {
    needs: ['eventLog', 'store', 'state'],
    async start({ config, get, logger }) {
      const archiver = new Archiver(
        { log: get('eventLog'), store: get('store'), state: get('state'), logger },
        { batchRecords: config.archiver.batchRecords, maxWaitMs: config.archiver.maxWaitMs },
      );
      await archiver.start();
      return archiver;
    },
    stop: (a) => a.stop(),
  },
  // after the archiver, so it stops first: running jobs may wait on the archiver (caughtUp)
  jobs: {
    start: ({ config, logger }) => openJobQueue(config, logger),
    stop: (jobs) => jobs.stop(),
  },
  pipeline: {
    needs: ['jobs', 'engine', 'warehouse', 'state', 'credentials', 'archiver', 'store', 'db', 'eventLog', 'usage'],
    async start({ config, get, logger }) {
      const state = get('state');
      const credentials = get('credentials');
      const archiver = get('archiver');
      const settings = async (propertyId: string) => credentials.property(propertyId) ?? (await credentials.refresh(), credentials.property(propertyId));
      // observed: each run logged and timed, whoever runs it (queue, "run now", the pipeline job)
      // a replay holds its dates: the scheduler's transform and compaction skip them meanwhile
      const locks = new PartitionLocks(get('db'));
      const transform = observedJob(
        'transform',
        transformJob({ engine: get('engine'), state, settings, locks, lateAllowanceMs: config.jobs.transformLateAllowanceMs }),
        logger,
      );
      const load = observedJob('load', loadJob({ warehouse: get('warehouse'), state }), logger);
      const compact = observedJob('compact', compactJob({ engine: get('engine'), state, store: get('store'), settings, locks }), logger);
      const handlers: Record<string, JobHandler<any, unknown>> = {
        transform,
        load,
        compact,
        'fx-rates': observedJob(
          'fx-rates',
          fxRatesJob({
            warehouse: get('warehouse'),
            download: (signal) => downloadEcbRates(config.jobs.fxRatesUrl, signal),
            // cached revenue answers key on it: every api process misses after a refresh
            refreshed: (r) => state.ratesRefreshed(r),
          }),
          logger,
        ),
        pipeline: observedJob('pipeline', pipelineJob({ transform, load, state, archiver }), logger),
      };
      // the data lifecycle's jobs (deletion of a person, retention, purge, file import / export) and
      // support's (replay, redrive, billing's quota re-drive after an upgrade)
      const infra = { db: get('db'), store: get('store'), warehouse: get('warehouse'), eventLog: get('eventLog'), usage: get('usage'), credentials };
      const more = {
        ...lifecycleWorkerJobs({ ...infra, manifest: state, transform, load, archiver, logger }),
        ...supportJobHandlers({ ...infra, config, logger, log: infra.eventLog, state, caughtUp: () => archiver.caughtUp() }),
      };
      for (const [name, h] of Object.entries(more)) handlers[name] = observedJob(name, h, logger);
      const jobs = get('jobs');
      for (const [name, h] of Object.entries(handlers)) jobs.register(name, h);
      await jobs.start();
      return { handlers, runJob: jobRunner(handlers, archiver) };
    },
  },
  billingRedrive: BILLING_REDRIVE_MODULE,
  schedule: {
    needs: ['jobs'],
    async start({ config, get, maybe, logger }) {
      if (!maybe('pipeline') && !config.jobs.redisUrl) logger.warn('scheduler without REDIS_URL: its in-process schedule reaches no worker');
      await get('jobs').schedule('pipeline', config.jobs.transformIntervalMs);
      await get('jobs').schedule('compact', 3_600_000);
      await get('jobs').schedule(RETENTION_JOB, 86_400_000);
      await get('jobs').schedule('fx-rates', 86_400_000);
      return true as const;
    },
  },
  collector: {
    needs: ['eventLog', 'credentials', 'usage', 'billing'],
    start({ config, get, logger, http }) {
      const counters = openCounters(config, logger);
      // every collector must hash cookieless visitors with the same day's salt
      const saltRedis = config.counters.redisUrl ? new Redis(config.counters.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 }) : null;
      const visitorIds = new VisitorIds(saltRedis ? new SharedSaltStore(saltRedis) : undefined);
      const perIp = config.counters.anonymousIpRate;
      const anonymousPerIp = { ratePerSecond: perIp, burst: perIp * 10 };
      const ingest = new IngestService({
        log: get('eventLog'),
        counters,
        geo: geoipLite(),
        usage: get('usage'),
        quota: get('billing').notifier,
        anonymousPerIp,
      });
      const collector = createCollector({ ingest, credentials: get('credentials'), visitorIds, log: logger, proxy: proxyTrust(config.http.trustProxy) });
      http.handle(collector.handler, collector.drain);
      return { drain: collector.drain, counters, saltRedis };
    },
    async stop(p) {
      await p.counters.close();
      p.saltRedis?.disconnect();
    },
  },
  // before the API routers: the first middleware on the app, so it sees every API request
  apiObserve: {
    start({ http, logger }) {
      http.app().use(observeApiRequests(logger));
      return true as const;
    },
  },
  openapi: {
    start({ http }) {
      http.app().get('/openapi.json', (_req, res) => void res.json(openApiDocument(PROTOCOL_ROUTES)));
      return true as const;
    },
  },
  // the CLI reaches the process holding the data dir (and its embedded database) on loopback only,
  // never on the public listener; a process on shared services needs no such door
  management: {
    needs: ['db', 'dataDir', 'credentials', 'jobs'],
    async start({ get, maybe, logger }) {
      if (!get('dataDir').lock) return null;
      const credentials = get('credentials');
      const runJob = maybe('pipeline')?.runJob;
      return startAdminListener(
        createManagementRouter({
          db: get('db'),
          adminToken: get('dataDir').adminToken,
          log: logger,
          onTenantsChanged: () => credentials.refresh(),
          runJob,
          // `tally tenant delete` erases the properties' data as DELETE /api/orgs/{id} does
          onPropertiesDeleted: queuePurges(get('jobs')),
        }),
      );
    },
    stop: (admin) => admin?.close(),
  },
  // before accounts, which serves its routes behind the same session, CSRF and role guard
  lifecycleApi: LIFECYCLE_API_MODULE,
  support: SUPPORT_MODULE,
  // accounts, organisations, keys and audit under /api; sessions also open the report routes
  accounts: {
    needs: ['db', 'credentials', 'billing'],
    async start({ config, get, maybe, logger, http }) {
      const counters = openCounters(config, logger);
      const a = await mountAccounts(http.app(), {
        routes: [...(maybe('support')?.routes ?? []), ...(maybe('lifecycleApi')?.routes ?? []), ...get('billing').routes],
        db: get('db'),
        counters,
        mailer: await openMailer(config, logger),
        credentials: get('credentials'),
        publicUrl: config.accounts.publicUrl,
        proxy: proxyTrust(config.http.trustProxy),
        log: logger,
        onPropertiesDeleted: maybe('lifecycleApi')?.onPropertiesDeleted,
        defaultPlanId: config.billing.defaultPlan,
      });
      return { ...a, counters };
    },
    stop: async (a) => {
      await a.close();
      await a.counters.close();
    },
  },
  billingWebhook: BILLING_WEBHOOK_MODULE,
  reports: REPORTS_MODULE,
  // the gauges read at scrape from what this process runs (archiver lag, reports' completeness)
  metrics: {
    needs: ['state'],
    start({ get, maybe }) {
      const archiver = maybe('archiver');
      const state = get('state');
      const unsetSources = metrics.readFrom({
        archiverLag: archiver && (() => archiver.lag()),
        completeUpTo: maybe('warehouse') && (() => state.oldestCompleteUpTo()),
      });
      return { unsetSources };
    },
    stop: (m) => m.unsetSources(),
  },
  // /healthz, /readyz, /metrics: on the http module's port when this process has one, and on
  // TALLY_HEALTH_PORT when set (worker and scheduler have no other listener)
  health: {
    needs: ['db', 'eventLog', 'store', 'jobs', 'metrics'],
    async start({ config, get, maybe, logger, roles, http }) {
      const ops = createOpsEndpoints({
        roles: [...roles],
        log: logger,
        checks: readinessChecks([...roles], { db: get('db'), log: get('eventLog'), warehouse: maybe('warehouse'), store: get('store'), jobs: get('jobs') }),
      });
      http.handle(ops.handle, ops.drain);
      const listener = config.http.healthPort === undefined ? null : await startHealthListener(config.http.healthPort, config.http.host, ops);
      if (listener) logger.info({ port: listener.port }, 'health listening');
      return { ops, listener };
    },
    // after the http module has drained and closed: /readyz answered 503 ("draining") meanwhile
    async stop({ ops, listener }) {
      ops.drain();
      await listener?.close();
    },
  },
  // the web console at '/': after every API module, so an API path never reaches it
  console: {
    start({ http }) {
      http.app().use(createConsoleRouter());
      return true as const;
    },
  },
  // last: it serves what the modules above mounted, and stops (drains) first
  http: {
    needs: ['dataDir'],
    async start({ config, get, maybe, logger, roles, http: mounts }) {
      // after every API router: Google-shaped JSON 404 / 501 instead of Express's HTML page
      mounts.appIfAny()?.use(createApiFallbackRouter({ logError: (err) => logger.error({ err }, 'request failed') }));
      const server = http.createServer((req, res) => mounts.serve(req, res));
      server.keepAliveTimeout = 65_000;
      if (mounts.empty) return { server, port: 0, listening: false };
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.http.port, config.http.host, () => resolve());
      });
      const port = (server.address() as AddressInfo).port;
      const admin = maybe('management');
      // also without an admin endpoint (a lone collector): supervisors and tests find the port here
      if (get('dataDir').lock)
        writeServerInfo(config.core.dataDir, { pid: process.pid, port, host: config.http.host, ...(admin ? { adminPort: admin.port } : {}) });
      logger.info({ port, roles }, 'tally listening');
      return { server, port, listening: true };
    },
    async stop({ server, listening }, { http: mounts }) {
      mounts.drain();
      if (!listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    },
  },
};

/** Whether this configuration keeps single-process state (PGlite, the local event log) in the data dir. */
export function holdsDataDir(config: Config): boolean {
  return !config.db.url || config.eventLog.kind === 'local';
}

/** Started by every role: what `TallyHandle` exposes, and the health endpoints and metrics every process answers. */
export const BASE_MODULES: ModuleName[] = [
  'dataDir',
  'eventLog',
  'db',
  'store',
  'state',
  'credentials',
  'credentialVersion',
  'keyUse',
  'jobs',
  'metrics',
  'health',
];

/** The role table; `serve` is all of them in one process. */
export const ROLES: Record<Role, { description: string; modules: ModuleName[] }> = {
  collector: { description: 'ingest endpoints (HTTP), edge enrichment, appends to the event log', modules: ['collector', 'http'] },
  api: {
    description: 'management API, the GA4-compatible report API and the web console (HTTP)',
    modules: ['apiObserve', 'openapi', 'management', 'support', 'lifecycleApi', 'accounts', 'billingWebhook', 'reports', 'console', 'http'],
  },
  worker: {
    description: 'archiver (event log -> raw zone) and job handlers (transform, load, compact; deletion, retention, purge, import, export; replay, redrive)',
    modules: ['archiver', 'pipeline', 'billingMeter', 'billingRedrive'],
  },
  scheduler: { description: 'repeating schedules for transform + load, compaction, daily retention', modules: ['schedule'] },
};
