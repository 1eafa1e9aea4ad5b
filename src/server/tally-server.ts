import { HttpMounts } from './http-mounts.js';
import type { Config } from '../infra/config/config.js';
import { createLogger, type Logger } from '../infra/logger.js';
import type { Db } from '../infra/metadata/db.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { JobQueue, JobRunner } from '../infra/jobs/job-queue.port.js';
import type { CredentialCache } from '../tenancy/credential-cache.js';
import type { Archiver } from '../../jobs/archiver.js';
import { jobRunner } from '../../jobs/pipeline.job.js';
import { describeEngines } from './startup-summary.js';
import { BASE_MODULES, MODULES, ROLES, type Module, type ModuleContext, type ModuleName, type Parts, type Role } from './modules.js';

export { ROLES, holdsDataDir, type Role } from './modules.js';

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

/** The modules `roles` start, with everything they need, in the table's (start) order. */
export function modulesFor(roles: readonly Role[]): ModuleName[] {
  const wanted = new Set<ModuleName>();
  const add = (m: ModuleName) => {
    if (wanted.has(m)) return;
    wanted.add(m);
    for (const n of MODULES[m].needs ?? []) add(n);
  };
  for (const m of BASE_MODULES) add(m);
  for (const r of roles) for (const m of ROLES[r].modules) add(m);
  const order = Object.keys(MODULES) as ModuleName[];
  for (const m of wanted) {
    for (const n of MODULES[m].needs ?? []) {
      if (order.indexOf(n) > order.indexOf(m)) throw new Error(`module ${m} needs ${n}, which the table starts after it`);
    }
  }
  return order.filter((m) => wanted.has(m));
}

/** Starts the modules of `roles` (see modules.ts) in one process; `stop` stops them in reverse. */
export async function startTally(config: Config, roles: Role[], opts: { logger?: Logger } = {}): Promise<TallyHandle> {
  const logger = opts.logger ?? createLogger(config.core.logLevel);
  logger.info(describeEngines(config, roles), 'tally starting');
  const parts: Partial<Parts> = {};
  const started: ModuleName[] = [];
  const ctx: ModuleContext = {
    config,
    logger,
    roles,
    http: new HttpMounts(),
    get: (name) => {
      const p = parts[name];
      if (p === undefined) throw new Error(`module ${name} is not started (name it in needs)`);
      return p;
    },
    maybe: (name) => parts[name] ?? null,
  };
  try {
    for (const name of modulesFor(roles)) {
      const m = MODULES[name] as Module<typeof name>;
      (parts as Record<ModuleName, unknown>)[name] = await m.start(ctx);
      started.push(name);
    }
  } catch (err) {
    // a failed start leaves nothing held (the data-dir lock above all) for a later one in this process
    for (const name of [...started].reverse()) {
      try {
        await (MODULES[name] as Module<typeof name>).stop?.(ctx.get(name), ctx);
      } catch {
        // the start error is the one to report
      }
    }
    throw err;
  }
  // what a supervisor (or a test) waits for, also from roles that do not listen
  logger.info({ roles, pid: process.pid }, 'tally started');

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const name of [...started].reverse()) {
      const m = MODULES[name] as Module<typeof name>;
      await m.stop?.(ctx.get(name), ctx);
    }
    logger.info('tally stopped');
  };

  const runJob = ctx.maybe('pipeline')?.runJob ?? jobRunner({}, null);
  return {
    port: ctx.maybe('http')?.port ?? 0,
    db: ctx.get('db'),
    log: ctx.get('eventLog'),
    store: ctx.get('store'),
    warehouse: ctx.maybe('warehouse'),
    jobs: ctx.get('jobs'),
    archiver: ctx.maybe('archiver'),
    credentials: ctx.get('credentials'),
    logger,
    runPipeline: async (propertyId?: string) => {
      await runJob('pipeline', propertyId ? { propertyId } : {}, () => undefined);
    },
    runJob,
    stop,
  };
}
