import { runOperatorCommand, type OperatorCommand } from '../tenancy/operator.commands.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { acquireDirLock, dirLockHolder } from '../infra/dir-lock.js';
import { migrate, openDb, type Db } from '../infra/metadata/db.js';
import { readAdminToken, readServerInfo, type ServerInfo } from '../tenancy/admin-token.js';
import { createTenant, type CreatedTenant, type CreateTenantInput } from '../tenancy/tenant.repository.js';
import { deleteTenant, getTenant, listTenants, setTenantPlan, type TenantDetail, type TenantSummary } from '../tenancy/tenant-admin.js';
import { holdsDataDir, startTally } from '../server/tally-server.js';
import { openJobQueue } from '../server/infra.factory.js';
import { queuePurges } from '../server/lifecycle.wiring.js';
import { PURGE_PROPERTY_JOB } from '../lifecycle/purge.js';

/** An error the CLI reports as it is, with its exit code (2: the set-up is wrong). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export type Progress = (done: number, total: number, unit?: string) => void;

export interface DeletedTenant {
  organizationId: string;
  properties: number;
  propertyIds: string[];
  /** `queued`: workers erase the data; `done`: this process erased it before answering. */
  purge: 'queued' | 'done';
}

/**
 * What the operator commands do, whoever does it: the running process that holds the data dir
 * (through its loopback admin endpoint), or this process on a data dir nobody holds (after taking
 * its lock), or this process straight on PostgreSQL.
 */
export interface Operator {
  /** 'server' when a running process does the work (its pid), 'local' when this one does. */
  readonly via: { kind: 'server'; pid: number } | { kind: 'local' };
  createTenant(input: CreateTenantInput): Promise<CreatedTenant>;
  listTenants(): Promise<TenantSummary[]>;
  getTenant(id: string): Promise<TenantDetail>;
  setPlan(id: string, planId: string): Promise<TenantSummary>;
  /**
   * Deletes the tenant and erases its properties' data (`purge-property` per property): queued for
   * the workers (the running process's queue, or Redis), or run here when no other process runs jobs.
   */
  deleteTenant(id: string): Promise<DeletedTenant>;
  runJob(name: string, data: Record<string, unknown>, progress: Progress): Promise<unknown>;
  migrate(): Promise<string[]>;
  /** A user, organisation or key command (src/tenancy/operator.commands.ts), through TenancyService. */
  ops(command: OperatorCommand, input: Record<string, unknown>): Promise<any>;
}

/**
 * Finds who may touch the data dir. Never opens an embedded database another live process holds:
 * the data-dir lock decides (a pid file such as server.json can be stale), and a live holder
 * that offers no admin endpoint is reported, not bypassed.
 */
/** How long a process holding the data dir may take to start serving its admin endpoint. */
const STARTING_MS = 120_000;

export async function openOperator(cfg: Config, opts: { init?: boolean; scope?: 'metadata' | 'worker' } = {}): Promise<Operator> {
  const dir = cfg.core.dataDir;
  // metadata on PostgreSQL is shared safely by any number of processes; PGlite, a local event
  // log or a worker's DuckDB files belong to the one process holding the data dir
  const embedded = opts.scope === 'worker' ? holdsDataDir(cfg) : !cfg.db.url;
  if (embedded && !fs.existsSync(dir)) {
    if (!opts.init) {
      throw new CliError(
        [
          `no Tally data dir at ${path.resolve(dir)}${process.env.TALLY_DATA_DIR ? '' : ' (TALLY_DATA_DIR is not set, so ./.tally is used)'}.`,
          'Run this where `tally serve` runs, set TALLY_DATA_DIR to its data dir, or pass --init to create a new one here.',
        ].join('\n'),
        2,
      );
    }
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  }
  if (!embedded) return localOperator(cfg);
  let told = false;
  for (;;) {
    const holder = await dirLockHolder(dir);
    if (!holder?.live) return localOperator(cfg);
    const info = readServerInfo(dir);
    const token = readAdminToken(dir);
    if (info && info.pid === holder.pid && info.adminPort && token) return serverOperator(info, token);
    // a holder that has not offered its endpoint by now never will (another tally command, a stuck start)
    if (Date.now() - holder.sinceMs > STARTING_MS) {
      throw new CliError(
        `data dir ${path.resolve(dir)} is in use by process ${holder.pid ?? '(unknown)'}, which offers no admin endpoint for it ` +
          '(it is still starting, or it is another tally command): its embedded database is not opened behind its back. Try again when it is up, or stop it.',
        3,
      );
    }
    if (!told) {
      process.stderr.write(`waiting for process ${holder.pid}, which holds ${path.resolve(dir)} and is starting ...\n`);
      told = true;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

function serverOperator(info: ServerInfo, token: string): Operator {
  const base = `http://127.0.0.1:${info.adminPort}`;
  const call = async (method: string, p: string, body?: unknown): Promise<Response> => {
    const res = await fetch(base + p, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) {
      const json = (await res.json().catch(() => null)) as { error?: { message?: string } } | null;
      throw new CliError(json?.error?.message ?? `the server answered ${res.status}`);
    }
    return res;
  };
  const json = async <T>(method: string, p: string, body?: unknown) => (await (await call(method, p, body)).json()) as T;
  return {
    via: { kind: 'server', pid: info.pid },
    createTenant: (input) => json('POST', '/internal/v1/tenants', input),
    listTenants: () => json('GET', '/internal/v1/tenants'),
    getTenant: (id) => json('GET', `/internal/v1/tenants/${encodeURIComponent(id)}`),
    setPlan: (id, planId) => json('PUT', `/internal/v1/tenants/${encodeURIComponent(id)}/plan`, { planId }),
    deleteTenant: async (id) => ({
      ...(await json<Omit<DeletedTenant, 'purge'>>('DELETE', `/internal/v1/tenants/${encodeURIComponent(id)}`)),
      purge: 'queued',
    }),
    async runJob(name, data, progress) {
      const res = await call('POST', '/internal/v1/jobs/run', { name, ...data });
      let last: { result?: unknown; error?: string } = {};
      let buf = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buf += Buffer.from(chunk).toString('utf8');
        let i;
        while ((i = buf.indexOf('\n')) >= 0) {
          const line = JSON.parse(buf.slice(0, i));
          buf = buf.slice(i + 1);
          if (line.progress) progress(line.progress[0], line.progress[1], line.progress[2]);
          else last = line;
        }
      }
      if (last.error) throw new CliError(last.error);
      return last.result;
    },
    async migrate() {
      // it migrated when it started, and holds the database
      return [];
    },
    ops: (command, input) => json('POST', `/internal/v1/ops/${command}`, input),
  };
}

function localOperator(cfg: Config): Operator {
  const embedded = !cfg.db.url;
  // stdout carries the command's output: only warnings are logged here
  const logger = createLogger('warn');
  const withDb = async <T>(fn: (db: Db) => Promise<T>, migrate = true): Promise<T> => {
    const lock = embedded ? await acquireDirLock(cfg.core.dataDir, 'data dir') : null;
    try {
      const db = await openDb({ url: cfg.db.url, dataDir: cfg.core.dataDir, logger, migrate });
      try {
        return await fn(db);
      } finally {
        await db.destroy();
      }
    } finally {
      await lock?.release();
    }
  };
  // a worker in this process (it takes the data-dir lock itself)
  const withWorker = async <T>(fn: (run: Operator['runJob']) => Promise<T>): Promise<T> => {
    const tally = await startTally(cfg, ['worker'], { logger });
    try {
      await tally.archiver?.caughtUp(120_000);
      return await fn((name, data, progress) => tally.runJob(name, data, progress));
    } finally {
      await tally.stop();
    }
  };
  return {
    via: { kind: 'local' },
    createTenant: (input) => withDb((db) => createTenant(db, input)),
    listTenants: () => withDb((db) => listTenants(db)),
    getTenant: (id) => withDb((db) => getTenant(db, id)),
    setPlan: (id, planId) => withDb((db) => setTenantPlan(db, id, planId)),
    async deleteTenant(id) {
      if (cfg.jobs.redisUrl) {
        // shared services: the workers on the same Redis erase the data
        const jobs = await openJobQueue(cfg, logger);
        try {
          return { ...(await withDb((db) => deleteTenant(db, id, queuePurges(jobs)))), purge: 'queued' };
        } finally {
          await jobs.stop();
        }
      }
      // nobody else runs this data dir's jobs: a worker in this process erases each property's data now
      const r = await withDb((db) => deleteTenant(db, id));
      if (r.propertyIds.length)
        await withWorker(async (run) => {
          for (const propertyId of r.propertyIds) await run(PURGE_PROPERTY_JOB, { tenantId: id, propertyId }, () => undefined);
        });
      return { ...r, purge: 'done' };
    },
    runJob: (name, data, progress) => withWorker((run) => run(name, data, progress)),
    migrate: () => withDb((db) => migrate(db, { serialize: Boolean(cfg.db.url), logger }), false),
    ops: (command, input) => withDb((db) => runOperatorCommand(new TenancyService(db), command, input)),
  };
}
