import express, { type NextFunction, type Request, type Response } from 'express';
import type { z } from 'zod';
import { httpStatusFor, isTallyError, TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import { appendAudit, type Actor } from './audit.repository.js';
import { API_ROUTES, organizationOf, type ApiDeps, type ApiRoute, type RouteContext } from './accounts.routes.js';
import { can, type Permission, type Role } from './permissions.js';
import { assertCsrf, type SessionUser } from './session-auth.js';
import { notFound } from './tenancy.service.js';

/** Support staff name why they look: a non-empty X-Support-Reason of at most 500 characters. */
export function supportReason(req: Request): string | null {
  const r = req.get('x-support-reason')?.trim();
  return r && r.length <= 500 ? r : null;
}

export function actorOf(req: Request, user: SessionUser | null, staff = false): Actor {
  return { kind: staff ? 'staff' : 'user', userId: user?.id ?? null, ip: req.ip ?? null, reason: staff ? supportReason(req) : null };
}

/**
 * The organisation-scoped guard: the object's organisation must exist and the user be a member
 * (else 404: another organisation's objects are never revealed), and the member's role must grant
 * the route's permission (else 403). Staff who are not members read with a reason, audited.
 */
export async function authorizeMember(
  deps: ApiDeps,
  req: Request,
  user: SessionUser,
  organizationId: string | null,
  permission: Permission,
): Promise<{ role: Role | 'staff'; actor: Actor }> {
  if (!organizationId) throw notFound('object');
  const role = await deps.service.roleIn(user.id, organizationId);
  if (role) {
    if (!can(role, permission)) throw new TallyError('permission_denied', `your role (${role}) may not do this (needs ${permission})`, { reason: 'role' });
    return { role, actor: actorOf(req, user) };
  }
  if (user.is_staff) {
    const reason = supportReason(req);
    if (!reason) throw new TallyError('permission_denied', 'support access needs an X-Support-Reason header', { reason: 'support_reason_required' });
    if (!can('staff', permission)) throw new TallyError('permission_denied', 'support staff may only read', { reason: 'staff_read_only' });
    const actor = actorOf(req, user, true);
    await appendAudit(deps.service.db, actor, {
      organizationId,
      action: 'support.access',
      targetType: 'request',
      targetId: `${req.method} ${req.originalUrl.split('?')[0]}`.slice(0, 255),
    });
    return { role: 'staff', actor };
  }
  throw notFound('object');
}

function parse<T>(schema: z.ZodType<T> | undefined, value: unknown, what: 'body' | 'query'): T {
  if (!schema) return value as T;
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const fields: Record<string, string> = {};
  for (const i of r.error.issues) fields[i.path.join('.') || what] ??= i.message;
  throw new TallyError(
    'unprocessable',
    Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}`)
      .join('; '),
    { reason: `invalid_${what}`, fields },
  );
}

/** `{error:{code, reason, message}}` (+ `fields` for 422); 5xx logged with the stack and masked. */
export function sendApiError(res: Response, err: unknown, log?: Logger): void {
  let e: TallyError;
  const status = (err as { status?: number; type?: string } | null)?.status;
  if (isTallyError(err)) e = err;
  else if (status === 413) e = new TallyError('payload_too_large', 'request body too large', { reason: 'body_too_large' });
  else if (status === 415) e = new TallyError('unsupported_media_type', 'unsupported content encoding', { reason: 'unsupported_media_type' });
  else if (typeof status === 'number' && status >= 400 && status < 500)
    e = new TallyError('malformed_body', 'the body is not valid JSON', { reason: 'malformed_json' });
  else e = new TallyError('internal', 'internal error');
  const http = httpStatusFor(e.code);
  if (http >= 500) log?.error({ err }, 'management API request failed');
  const retryMs = Number(e.details.retryAfterMs);
  if (Number.isFinite(retryMs) && retryMs > 0) res.setHeader('Retry-After', String(Math.ceil(retryMs / 1000)));
  if (res.headersSent) return void res.end();
  res.status(http).json({
    error: {
      code: e.code,
      reason: (e.details.reason as string | undefined) ?? e.code,
      message: e.code === 'internal' ? 'internal error' : e.message,
      ...(e.details.fields ? { fields: e.details.fields } : {}),
    },
  });
}

/** A custom scope's route checks its own ids (a visitor's client id may hold dots, a replay id is `rp_…`). */
function orgOfCustom(route: ApiRoute, params: Record<string, string>, body: unknown): Promise<string | null> {
  return route.orgOf ? route.orgOf({ params, body }) : Promise.resolve(null);
}

/**
 * The management JSON API (API_ROUTES, then `routes`: other features' tables, wired by
 * src/server) under /api, behind the session layer.
 */
export function createAccountsRouter(deps: ApiDeps & { log?: Logger; routes?: readonly ApiRoute[] }): express.Router {
  const r = express.Router();
  r.use('/api', ...deps.layer.middleware);
  const json = express.json({ limit: '64kb', type: () => true, strict: false });

  const handler = (route: ApiRoute) => async (req: Request, res: Response, next: NextFunction) => {
    try {
      const user = (req.user as SessionUser | undefined) ?? null;
      const ctx: RouteContext = {
        req,
        res,
        user,
        actor: actorOf(req, user),
        orgId: null,
        role: null,
        body: undefined,
        params: req.params as Record<string, string>,
        deps,
      };
      if (route.access !== 'public') {
        if (!user) throw new TallyError('unauthenticated', 'sign in first (POST /api/auth/login)', { reason: 'not_signed_in' });
        assertCsrf(req);
        if (route.access !== 'signed_in') {
          if (!route.scope) throw new TallyError('internal', `route ${route.path} has a permission but no scope`);
          // a custom scope may name its object in the body: validated first (a 422 reveals no object)
          if (route.scope === 'custom') ctx.body = parse(route.body, req.body, 'body');
          const orgId = route.scope === 'custom' ? await orgOfCustom(route, ctx.params, ctx.body) : await organizationOf(deps.service, route.scope, ctx.params);
          const { role, actor } = await authorizeMember(deps, req, user, orgId, route.access);
          Object.assign(ctx, { orgId, role, actor });
        }
      }
      parse(route.query, req.query, 'query');
      if (route.scope !== 'custom') ctx.body = parse(route.body, req.body, 'body');
      const out = await route.handler(ctx);
      // a streaming route (an export) has answered itself
      if (res.headersSent) return void (res.writableEnded || res.end());
      if (out === undefined) res.status(route.status ?? 204).end();
      else res.status(route.status ?? 200).json(out);
    } catch (err) {
      next(err);
    }
  };

  for (const route of [...API_ROUTES, ...(deps.routes ?? [])]) {
    if (route.body) r[route.method](route.path, json, handler(route));
    else r[route.method](route.path, handler(route));
  }
  r.use('/api', (_req: Request, _res: Response, next: NextFunction) => next(new TallyError('not_found', 'no such endpoint', { reason: 'no_route' })));
  r.use('/api', (err: unknown, _req: Request, res: Response, _next: NextFunction) => sendApiError(res, err, deps.log));
  return r;
}
