import express, { type NextFunction, type Request, type Response } from 'express';
import type { Db } from '../infra/metadata/db.js';
import { TallyError } from '../infra/errors.js';
import { errorBody, publicError, sendErrorBody } from '../infra/error-body.js';
import type { Logger } from '../infra/logger.js';
import type { JobRunner } from '../infra/jobs/job-queue.port.js';
import { createTenant } from './tenant.repository.js';
import { tokensEqual } from './admin-token.js';
import { z } from 'zod';
import { CreateTenantSchema as CreateTenant, RunJobSchema as RunJob } from './management.api.js';
import { runOperatorCommand } from './operator.commands.js';
import { TenancyService } from './tenancy.service.js';
import { deleteTenant, getTenant, listTenants, setTenantPlan, type PropertiesDeleted } from './tenant-admin.js';

export type { JobRunner };

/**
 * Operator routes (local admin token). The sign-up console and member-facing management API
 * come on top of the same repositories.
 */
const SetPlan = z.strictObject({ planId: z.string().min(1) });

export function createManagementRouter(deps: {
  db: Db;
  adminToken: string;
  log: Logger;
  onTenantsChanged?: () => Promise<void>;
  runJob?: JobRunner;
  /** Queues the purge of a deleted tenant's properties (src/lifecycle's `purge-property`, wired in src/server). */
  onPropertiesDeleted?: PropertiesDeleted;
}) {
  const r = express.Router();
  // the token is checked before a byte of the body is read: no unauthenticated parsing at all
  r.use(
    '/internal',
    (req: Request, _res: Response, next: NextFunction) => {
      const h = req.headers.authorization ?? '';
      const token = /^Bearer\s+(\S+)$/i.exec(h)?.[1];
      if (!token || !tokensEqual(token, deps.adminToken)) return next(new TallyError('unauthenticated', 'admin token required', { reason: 'admin_token' }));
      next();
    },
    express.json({ limit: '64kb', type: () => true }),
  );

  r.post('/internal/v1/tenants', async (req, res, next) => {
    try {
      const parsed = CreateTenant.safeParse(req.body);
      if (!parsed.success) {
        throw new TallyError('invalid_argument', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '), {
          reason: 'invalid_body',
        });
      }
      const created = await createTenant(deps.db, parsed.data);
      await deps.onTenantsChanged?.();
      res.status(201).json(created);
    } catch (e) {
      next(e);
    }
  });

  // user, org and key commands of the CLI (operator.commands.ts), run here when this process holds the DB
  r.post('/internal/v1/ops/:command', async (req, res, next) => {
    try {
      const out = await runOperatorCommand(new TenancyService(deps.db), String(req.params.command), req.body);
      await deps.onTenantsChanged?.();
      res.status(200).json(out);
    } catch (e) {
      next(e);
    }
  });

  const route = (fn: (req: Request) => Promise<unknown>) => (req: Request, res: Response, next: NextFunction) =>
    void fn(req).then((body) => void res.json(body), next);
  r.get(
    '/internal/v1/tenants',
    route(() => listTenants(deps.db)),
  );
  r.get(
    '/internal/v1/tenants/:id',
    route((req) => getTenant(deps.db, String(req.params.id))),
  );
  r.put(
    '/internal/v1/tenants/:id/plan',
    route(async (req) => {
      const parsed = SetPlan.safeParse(req.body);
      if (!parsed.success) throw new TallyError('invalid_argument', 'body: {"planId": "<plan>"} expected', { reason: 'invalid_body' });
      const t = await setTenantPlan(deps.db, String(req.params.id), parsed.data.planId);
      await deps.onTenantsChanged?.();
      return t;
    }),
  );
  r.delete(
    '/internal/v1/tenants/:id',
    route(async (req) => {
      const t = await deleteTenant(deps.db, String(req.params.id), deps.onPropertiesDeleted);
      await deps.onTenantsChanged?.();
      return t;
    }),
  );

  // Streams NDJSON: {"progress":[done,total]} lines, then {"result":…} or {"error":…}.
  r.post('/internal/v1/jobs/run', async (req, res, next) => {
    const parsed = RunJob.safeParse(req.body);
    if (!parsed.success) return next(new TallyError('invalid_argument', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
    if (!deps.runJob) return next(new TallyError('unavailable', 'this process runs no worker role'));
    res.status(200).setHeader('content-type', 'application/x-ndjson');
    let last = 0;
    try {
      const { name, ...data } = parsed.data;
      const result = await deps.runJob(name, data, (done, total, unit) => {
        const now = Date.now();
        if (now - last > 100 || done === total) {
          last = now;
          res.write(JSON.stringify({ progress: [done, total, unit] }) + '\n');
        }
      });
      res.end(JSON.stringify({ result }) + '\n');
    } catch (err) {
      // the 200 is sent: the error is the stream's last line, in the one error body (masked)
      const { error, unexpected } = publicError(err);
      if (unexpected) deps.log.error({ err }, 'job run failed');
      else deps.log.warn({ err: error.message, reason: error.details.reason ?? error.code }, 'job run refused');
      res.end(JSON.stringify(errorBody(error)) + '\n');
    }
  });

  r.use('/internal', (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (sendErrorBody(res, err).unexpected) deps.log.error({ err }, 'management request failed');
  });
  return r;
}
