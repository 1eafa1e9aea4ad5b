import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Db } from '../infra/metadata/db.js';
import type { EventLog } from '../infra/event-log/event-log.port.js';
import type { ObjectStore } from '../infra/object-store/object-store.port.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import type { JobQueue } from '../infra/jobs/job-queue.port.js';
import type { Logger } from '../infra/logger.js';
import { scrape } from '../infra/metrics/metrics.js';
import type { Role } from './role.js';

/** One dependency a role needs to do its work; `run` rejects when it cannot be reached. */
export interface ReadinessCheck {
  name: string;
  run(): Promise<unknown>;
}

/**
 * What `/readyz` checks, per role (README "Health and metrics"): every role its metadata database;
 * collectors and workers the event log (collectors append to it, workers archive it); api and
 * workers the warehouse (reports read it, loads write it); workers the object store; workers and
 * schedulers the job queue's store.
 */
export function readinessChecks(
  roles: Role[],
  deps: { db: Db; log: EventLog; warehouse: Warehouse | null; store: ObjectStore; jobs: JobQueue },
): ReadinessCheck[] {
  const has = (...r: Role[]) => r.some((x) => roles.includes(x));
  const checks: ReadinessCheck[] = [{ name: 'metadata', run: () => deps.db.raw('select 1') }];
  if (has('collector', 'worker')) checks.push({ name: 'eventLog', run: () => deps.log.endOffsets('raw-events') });
  if (has('api', 'worker') && deps.warehouse) checks.push({ name: 'warehouse', run: () => deps.warehouse!.query('select 1 as ok', []) });
  if (has('worker')) checks.push({ name: 'objectStore', run: () => deps.store.list('_readyz/') });
  if (has('worker', 'scheduler')) checks.push({ name: 'jobQueue', run: () => deps.jobs.ping() });
  return checks;
}

export interface ReadinessReport {
  status: 'ready' | 'not_ready' | 'draining';
  checks: Record<string, { ok: boolean; ms: number; error?: string }>;
}

/**
 * `/healthz` (the process answers), `/readyz` (the role's dependencies answer, 503 otherwise or
 * while draining) and `/metrics` (Prometheus text). Readiness results are shared for `cacheMs`, so
 * probes hitting a public listener cannot turn into a query storm on the databases.
 */
export function createOpsEndpoints(opts: { roles: Role[]; checks: ReadinessCheck[]; log: Logger; timeoutMs?: number; cacheMs?: number }) {
  const timeoutMs = opts.timeoutMs ?? 2_000;
  const cacheMs = opts.cacheMs ?? 1_000;
  let draining = false;
  let last: { at: number; report: Promise<ReadinessReport> } | null = null;

  const runCheck = async (c: ReadinessCheck): Promise<[string, { ok: boolean; ms: number; error?: string }]> => {
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([c.run(), new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs)))]);
      return [c.name, { ok: true, ms: Date.now() - started }];
    } catch (err) {
      return [c.name, { ok: false, ms: Date.now() - started, error: (err as Error)?.message ?? String(err) }];
    } finally {
      clearTimeout(timer);
    }
  };

  const readiness = (): Promise<ReadinessReport> => {
    const now = Date.now();
    if (!last || now - last.at >= cacheMs) {
      last = {
        at: now,
        report: Promise.all(opts.checks.map(runCheck)).then((results) => {
          const checks = Object.fromEntries(results);
          const failed = results.filter(([, r]) => !r.ok);
          if (failed.length) opts.log.warn({ checks: Object.fromEntries(failed) }, 'not ready');
          return { status: failed.length ? 'not_ready' : 'ready', checks };
        }),
      };
    }
    return last.report;
  };

  const send = (res: ServerResponse, status: number, type: string, body: string) => {
    res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' }).end(body);
  };
  const json = (res: ServerResponse, status: number, body: unknown) => send(res, status, 'application/json', JSON.stringify(body));

  /** Answers the three paths (true) or leaves the request to the next handler (false). */
  const handle = (req: IncomingMessage, res: ServerResponse): boolean => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q >= 0 ? url.slice(0, q) : url;
    if (path !== '/healthz' && path !== '/readyz' && path !== '/metrics') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      json(res, 405, { error: { code: 'invalid_argument', reason: 'method_not_allowed', message: `${req.method} not allowed on ${path}` } });
      return true;
    }
    if (path === '/healthz') {
      json(res, 200, { status: 'ok', roles: opts.roles });
    } else if (path === '/readyz') {
      if (draining) json(res, 503, { status: 'draining', checks: {} } satisfies ReadinessReport);
      else
        readiness().then(
          (r) => json(res, r.status === 'ready' ? 200 : 503, r),
          (err) => json(res, 503, { status: 'not_ready', checks: {}, error: String(err) }),
        );
    } else {
      scrape().then(
        (m) => send(res, 200, m.contentType, m.body),
        (err) => {
          opts.log.error({ err }, 'metrics scrape failed');
          json(res, 500, { error: { code: 'internal', reason: 'internal', message: 'internal error' } });
        },
      );
    }
    return true;
  };

  return {
    handle,
    readiness,
    /** From now on /readyz answers 503 so load balancers stop sending before the listener closes. */
    drain(): void {
      draining = true;
    },
  };
}

/**
 * The small listener of `TALLY_HEALTH_PORT`: what roles without an HTTP listener (worker,
 * scheduler) are probed and scraped on; any role may have it.
 */
export async function startHealthListener(
  port: number,
  host: string,
  ops: ReturnType<typeof createOpsEndpoints>,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    if (!ops.handle(req, res)) json404(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function json404(res: ServerResponse): void {
  const body = JSON.stringify({ error: { code: 'not_found', reason: 'not_found', message: 'no such endpoint' } });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }).end(body);
}
