import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { Config } from '../infra/config/config.js';
import { createLogger, type Logger } from '../infra/logger.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { TransformEngine } from '../infra/transform/transform-engine.port.js';
import type { Counters } from '../infra/counters/counters.port.js';
import { CredentialCache } from '../tenancy/credential-cache.js';
import { loadCredentials, touchKeys } from '../tenancy/tenant.repository.js';
import { ensureAdminToken, removeServerInfo, writeServerInfo } from '../tenancy/admin-token.js';
import { createManagementRouter, type JobRunner } from '../tenancy/management.router.js';
import type { JobHandler, JobQueue } from '../infra/jobs/job-queue.port.js';
import { UsageMeter } from '../billing/usage-meter.js';
import { IngestService } from '../ingest/ingest.service.js';
import { createCollector } from '../ingest/collector.http.js';
import { PROTOCOL_ROUTES } from '../ingest/protocol-routes.js';
import { openApiDocument } from './openapi.js';
import { createConsoleRouter } from './console.static.js';
import { geoipLite } from '../ingest/geo.js';
import { SharedSaltStore, visitorIds } from '../ingest/visitor-id.js';
import { Redis } from 'ioredis';
import { createReportRouter } from '../query/report.router.js';
import { Archiver } from '../../jobs/archiver.js';
import { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { transformJob } from '../../jobs/transform.job.js';
import { loadJob } from '../../jobs/load.job.js';
import { openCounters, openEventLog, openJobQueue, openMailer, openObjectStore, openTransformEngine, openWarehouse } from './infra.factory.js';
import { mountAccounts } from '../tenancy/accounts.module.js';
import { CredentialVersionWatcher } from '../tenancy/credential-version.js';

export type Role = 'collector' | 'api' | 'worker' | 'scheduler';

/** What each role starts; `serve` is all of them in one process. */
export const ROLES: Record<Role, string> = {
  collector: 'ingest endpoints (HTTP), edge enrichment, appends to the event log',
  api: 'management API and the GA4-compatible report API (HTTP)',
  worker: 'archiver (event log -> raw zone) and job handlers (transform, load)',
  scheduler: 'repeating schedules for transform + load',
};

export interface TallyHandle {
  port: number;
  db: Db;
  log: EventLog;
  store: ObjectStore;
  warehouse: Warehouse | null;
  jobs: JobQueue;
  archiver: Archiver | null;
  credentials: CredentialCache;
  logger: Logger;
  /** Runs transform then load now for every changed partition (what the schedule does). */
  runPipeline(propertyId?: string): Promise<void>;
  runJob: JobRunner;
  stop(): Promise<void>;
}

export async function startTally(config: Config, roles: Role[], opts: { logger?: Logger } = {}): Promise<TallyHandle> {
  const logger = opts.logger ?? createLogger(config.core.logLevel);
  const has = (r: Role) => roles.includes(r);
  fs.mkdirSync(config.core.dataDir, { recursive: true });
  const adminToken = ensureAdminToken(config.core.dataDir);
  const holdsDataDir = !config.db.url || config.eventLog.kind === 'local';
  // claims the data dir before opening it: the CLI goes through this process from now on
  if (holdsDataDir) writeServerInfo(config.core.dataDir, { pid: process.pid, port: 0, host: config.http.host });

  const log = await openEventLog(config, logger);
  const db = await openDb({ url: config.db.url, dataDir: config.core.dataDir });
  const store = await openObjectStore(config);
  const state = new PipelineStateRepository(db);
  const credentials = new CredentialCache(() => loadCredentials(db), { refreshMs: 10_000, log: logger });
  await credentials.start();
  const credentialVersion = new CredentialVersionWatcher(db, () => credentials.refresh(), { log: logger });
  credentialVersion.start();
  const usage = new UsageMeter(db, logger);
  usage.start();
  const flushKeyUse = () => touchKeys(db, credentials.takeUsed()).catch((err) => logger.warn({ err }, 'could not record key use'));
  const keyUseTimer = setInterval(() => void flushKeyUse(), 30_000);
  keyUseTimer.unref();

  let warehouse: Warehouse | null = null;
  let engine: TransformEngine | null = null;
  if (has('api') || has('worker')) warehouse = await openWarehouse(config, store);
  if (has('worker')) engine = openTransformEngine(config, store);

  const jobs = await openJobQueue(config, logger);
  let archiver: Archiver | null = null;
  const settings = async (propertyId: string) => credentials.property(propertyId) ?? (await credentials.refresh(), credentials.property(propertyId));
  const handlers: Record<string, JobHandler<any, unknown>> = {};
  if (engine && warehouse) {
    const transform = transformJob({ engine, state, settings });
    const load = loadJob({ warehouse, state });
    handlers.transform = transform;
    handlers.load = load;
    handlers.pipeline = async (ctx) => {
      // completeness: whatever was acknowledged before `mark` is archived once the archiver reaches
      // the end it sees now, so it is in raw objects up to `upto`
      const mark = new Date();
      const caughtUp = archiver ? await archiver.caughtUp(120_000).then(() => true, () => false) : false;
      const upto = await state.maxRawSeq();
      const result = { transform: await transform(ctx), load: await load(ctx) };
      if (caughtUp && !ctx.signal.aborted) await state.markComplete(mark, upto, ctx.data.propertyId);
      return result;
    };
    for (const [name, h] of Object.entries(handlers)) jobs.register(name, h);
  }
  const runJob: JobRunner = async (name, data, progress) => {
    const h = handlers[name];
    if (!h) throw new TallyError('not_found', `no job ${name} here (jobs: ${Object.keys(handlers).join(', ') || 'none'})`);
    // "run now" covers everything acknowledged so far: let the archiver reach the log's end first
    if (name !== 'load') await archiver?.caughtUp(120_000);
    return h({ name, data, progress, signal: new AbortController().signal });
  };
  const runPipeline = async (propertyId?: string) => {
    await runJob('pipeline', propertyId ? { propertyId } : {}, () => undefined);
  };

  if (has('worker')) {
    archiver = new Archiver({ log, store, state, logger }, { batchRecords: config.archiver.batchRecords, maxWaitMs: config.archiver.maxWaitMs });
    await archiver.start();
    await jobs.start();
  }
  if (has('scheduler')) {
    if (!has('worker') && !config.jobs.redisUrl) logger.warn('scheduler without REDIS_URL: its in-process schedule reaches no worker');
    await jobs.schedule('pipeline', config.jobs.transformIntervalMs);
  }

  let collector: ReturnType<typeof createCollector> | null = null;
  let counters: Counters | null = null;
  let saltRedis: Redis | null = null;
  if (has('collector')) {
    counters = openCounters(config, logger);
    const perIp = config.counters.anonymousIpRate;
    const ingest = new IngestService({ log, counters, geo: geoipLite(), usage, anonymousPerIp: { ratePerSecond: perIp, burst: perIp * 10 } });
    collector = createCollector({ ingest, credentials, log: logger, trustProxy: config.http.trustProxy });
    if (config.counters.redisUrl) {
      // every collector must hash cookieless visitors with the same day's salt
      saltRedis = new Redis(config.counters.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
      visitorIds.useStore(new SharedSaltStore(saltRedis));
    }
  }

  let app: express.Express | null = null;
  let accounts: Awaited<ReturnType<typeof mountAccounts>> | null = null;
  if (has('api')) {
    app = express();
    app.disable('x-powered-by');
    app.get('/openapi.json', (_req, res) => void res.json(openApiDocument(PROTOCOL_ROUTES)));
    app.use(createManagementRouter({ db, adminToken, log: logger, onTenantCreated: () => credentials.refresh(), runJob: has('worker') ? runJob : undefined }));
    const accountCounters = counters ?? openCounters(config, logger);
    accounts = await mountAccounts(app, { db, counters: accountCounters, mailer: await openMailer(config, logger), credentials, publicUrl: config.accounts.publicUrl, trustProxy: config.http.trustProxy, log: logger });
    if (!counters) counters = accountCounters;
    app.use(
      createReportRouter({
        warehouse: warehouse!,
        completeUpTo: (propertyId) => state.completeUpTo(propertyId),
        authorize: accounts.authorizeReport,
      }),
    );
    // the web console at '/', after every API router so API paths never reach it
    app.use(createConsoleRouter());
  }

  const server = http.createServer((req, res) => {
    if (collector?.handler(req, res)) return;
    if (app) return void app(req, res);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'not_found', reason: 'not_found', message: 'no such endpoint' } }));
  });
  server.keepAliveTimeout = 65_000;
  const listening = has('collector') || has('api');
  let port = 0;
  if (listening) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.http.port, config.http.host, () => resolve());
    });
    port = (server.address() as AddressInfo).port;
    if (holdsDataDir) writeServerInfo(config.core.dataDir, { pid: process.pid, port, host: config.http.host });
    logger.info({ port, roles }, 'tally listening');
  }
  // what a supervisor (or a test) waits for, also from roles that do not listen
  logger.info({ roles, pid: process.pid }, 'tally started');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    collector?.drain();
    if (listening) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), 5_000).unref();
      });
    }
    // running jobs may wait on the archiver (caughtUp), so they finish first
    await jobs.stop();
    await archiver?.stop();
    await counters?.close();
    await accounts?.close();
    credentialVersion.stop();
    await usage.stop();
    clearInterval(keyUseTimer);
    await flushKeyUse();
    credentials.stop();
    saltRedis?.disconnect();
    await log.close();
    await warehouse?.close();
    await engine?.close();
    await store.close();
    await db.destroy();
    if (holdsDataDir) removeServerInfo(config.core.dataDir);
    logger.info('tally stopped');
  };

  return { port, db, log, store, warehouse, jobs, archiver, credentials, logger, runPipeline, runJob, stop };
}
