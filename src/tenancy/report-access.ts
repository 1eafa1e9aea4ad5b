import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { TenantProperty } from '../domain/tenant-property.js';
import { TallyError } from '../infra/errors.js';
import type { CredentialCache } from './credential-cache.js';
import type { ApiDeps } from './accounts.routes.js';
import { authorizeMember } from './accounts.router.js';
import { assertCsrf, type SessionUser } from './session-auth.js';
import { readAccess } from './read-access.js';

/**
 * Who may read a property's reports through the GA4 Data API routes: a read key of that property
 * (Authorization: Bearer), or a signed-in member of its organisation whose role grants
 * reports.read (session cookie, plus X-CSRF-Token on POST), or support staff with a reason.
 */
export function createReportAccess(deps: { credentials: CredentialCache; api: ApiDeps }) {
  const chain = deps.api.layer.middleware;
  /** Reads the session only for cookie requests: read-key requests pay nothing for it. */
  const session: RequestHandler = (req: Request, res: Response, next: NextFunction) => {
    if (req.headers.authorization || !req.headers.cookie) return next();
    let i = 0;
    const step = (err?: unknown): void => {
      if (err || i === chain.length) return next(err as Error | undefined);
      chain[i++](req, res, step);
    };
    step();
  };

  const byKey = readAccess(deps.credentials);
  const authorize = async (token: string | null, propertyId: string, req?: Request): Promise<TenantProperty> => {
    if (token) return byKey(token, propertyId);
    const user = (req?.user as SessionUser | undefined) ?? null;
    if (!req || !user) throw new TallyError('unauthenticated', 'a read key is required as "Authorization: Bearer <key>", or a session cookie');
    assertCsrf(req);
    // a new property reaches every process's cache within the version poll (about 0.5 s)
    const p = deps.credentials.property(propertyId);
    await authorizeMember(deps.api, req, user, p?.tenantId ?? null, 'reports.read');
    return p!;
  };
  /** Tenant SQL: as reports, but a read key may leave the property out (its own is meant). */
  const authorizeSql = async (token: string | null, propertyId: string | null, req: Request): Promise<TenantProperty> => {
    if (propertyId) return authorize(token, propertyId, req);
    if (!token) throw new TallyError('invalid_argument', 'propertyId is required when signed in with a session', { reason: 'property_required' });
    const p = deps.credentials.resolveKey(token, 'read');
    if (!p) throw new TallyError('unauthenticated', 'unknown or revoked read key');
    return p;
  };
  return { session, authorize, authorizeSql };
}
