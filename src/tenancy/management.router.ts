import express, { type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Db } from '../infra/metadata/db.js';
import { httpStatusFor, isTallyError, TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { JobRunner } from '../infra/jobs/job-queue.port.js';
import { createTenant } from './tenant.repository.js';
import { tokensEqual } from './admin-token.js';
import { runOperatorCommand } from './operator.commands.js';
import { TenancyService } from './tenancy.service.js';
import { isAllowedHostnamePattern } from '../domain/allowed-hostnames.js';

const CreateTenant = z.strictObject({
  name: z.string().min(1).max(200),
  email: z.string().email(),
  domain: z.string().min(1).max(253),
  timeZone: z.string().optional(),
  planId: z.enum(['free', 'growth', 'scale']).optional(),
  allowedHostnames: z.array(z.string().min(1).max(253).refine(isAllowedHostnamePattern, 'a host name, or *. and a domain')).max(100).optional(),
});

export type { JobRunner };

const RunJob = z.strictObject({ name: z.string().min(1), propertyId: z.string().regex(/^\d+$/).optional(), full: z.boolean().optional() });

/**
 * Operator routes (local admin token). The sign-up console and member-facing management API
 * come on top of the same repositories.
 */
export function createManagementRouter(deps: { db: Db; adminToken: string; log: Logger; onTenantCreated?: () => Promise<void>; runJob?: JobRunner }) {
  const r = express.Router();
  r.use('/internal', express.json({ limit: '64kb', type: () => true }), (req: Request, _res: Response, next: NextFunction) => {
    const h = req.headers.authorization ?? '';
    const token = /^Bearer\s+(\S+)$/i.exec(h)?.[1];
    if (!token || !tokensEqual(token, deps.adminToken)) return next(new TallyError('unauthenticated', 'admin token required', { reason: 'admin_token' }));
    next();
  });

  r.post('/internal/v1/tenants', async (req, res, next) => {
    try {
      const parsed = CreateTenant.safeParse(req.body);
      if (!parsed.success) {
        throw new TallyError('invalid_argument', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '), { reason: 'invalid_body' });
      }
      const created = await createTenant(deps.db, parsed.data);
      await deps.onTenantCreated?.();
      res.status(201).json(created);
    } catch (e) {
      next(e);
    }
  });

  // user, org and key commands of the CLI (operator.commands.ts), run here when this process holds the DB
  r.post('/internal/v1/ops/:command', async (req, res, next) => {
    try {
      const out = await runOperatorCommand(new TenancyService(deps.db), String(req.params.command), req.body);
      await deps.onTenantCreated?.();
      res.status(200).json(out);
    } catch (e) {
      next(e);
    }
  });

  // Streams NDJSON: {"progress":[done,total]} lines, then {"result":…} or {"error":…}.
  r.post('/internal/v1/jobs/run', async (req, res, next) => {
    const parsed = RunJob.safeParse(req.body);
    if (!parsed.success) return next(new TallyError('invalid_argument', parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')));
    if (!deps.runJob) return next(new TallyError('unavailable', 'this process runs no worker role'));
    res.status(200).setHeader('content-type', 'application/x-ndjson');
    let last = 0;
    try {
      const { name, ...data } = parsed.data;
      const result = await deps.runJob(name, data, (done, total) => {
        const now = Date.now();
        if (now - last > 100 || done === total) {
          last = now;
          res.write(JSON.stringify({ progress: [done, total] }) + '\n');
        }
      });
      res.end(JSON.stringify({ result }) + '\n');
    } catch (err) {
      deps.log.error({ err }, 'job run failed');
      res.end(JSON.stringify({ error: isTallyError(err) ? err.message : String(err) }) + '\n');
    }
  });

  r.use('/internal', (err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (!isTallyError(err)) deps.log.error({ err }, 'management request failed');
    const e = isTallyError(err) ? err : new TallyError('internal', 'internal error');
    const status = (err as { status?: number }).status === 400 ? 400 : httpStatusFor(e.code);
    res.status(status).json({ error: { code: e.code, reason: e.details.reason ?? e.code, message: e.code === 'internal' ? 'internal error' : e.message } });
  });
  return r;
}
