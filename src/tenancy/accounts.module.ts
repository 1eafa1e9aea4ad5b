import type { ProxyTrust } from '../infra/http/proxy-trust.port.js';
import type express from 'express';
import type { Counters } from '../infra/counters/counters.port.js';
import type { Db } from '../infra/metadata/db.js';
import type { Logger } from '../infra/logger.js';
import type { Mailer } from '../infra/mailer/mailer.port.js';
import type { CredentialCache } from './credential-cache.js';
import { createAccountsRouter } from './accounts.router.js';
import type { ApiDeps, ApiRoute } from './accounts.routes.js';
import { createReportAccess } from './report-access.js';
import { createSessionLayer, sessionSecret } from './session-auth.js';
import { TenancyService } from './tenancy.service.js';

/**
 * Accounts, organisations and the management API on an api process's express app: sessions in
 * the metadata DB, /api/* routes, and session access to the report routes. Returns the report
 * authoriser (read keys and sessions) and what to close on stop.
 */
export async function mountAccounts(
  app: express.Express,
  deps: {
    db: Db;
    counters: Counters;
    mailer: Mailer;
    credentials: CredentialCache;
    publicUrl: string;
    proxy: ProxyTrust;
    log: Logger;
    /** Other features' route tables (support, billing), behind the same guard. */
    routes?: readonly ApiRoute[];
    /** The plan new organisations start on (TALLY_DEFAULT_PLAN). */
    defaultPlanId?: string;
    /** Told when properties are deleted (the data lifecycle queues their data's deletion). */
    onPropertiesDeleted?: ApiDeps['onPropertiesDeleted'];
  },
) {
  // req.ip and req.secure (login brake, audit IP, Secure cookies) answer from the one TALLY_TRUST_PROXY
  // walk the collector uses, not from express's own "trust proxy" reading of X-Forwarded-For
  app.use((req, _res, next) => {
    Object.defineProperty(req, 'ip', { value: deps.proxy.clientIp(req) ?? undefined, configurable: true });
    Object.defineProperty(req, 'secure', { value: deps.proxy.isHttps(req), configurable: true });
    next();
  });
  const service = new TenancyService(deps.db, { mailer: deps.mailer, publicUrl: deps.publicUrl, defaultPlanId: deps.defaultPlanId });
  // Secure cookies over TLS or behind a trusted proxy that says the client used https
  const layer = createSessionLayer({ db: deps.db, service, secret: await sessionSecret(deps.db), counters: deps.counters, secureCookies: 'auto' });
  const api = {
    service,
    layer,
    onCredentialsChanged: () => void deps.credentials.refresh().catch(() => undefined),
    onPropertiesDeleted: deps.onPropertiesDeleted,
  };
  app.use(createAccountsRouter({ ...api, log: deps.log, routes: deps.routes }));
  const reports = createReportAccess({ credentials: deps.credentials, api });
  app.use('/v1beta', reports.session);
  app.use('/v1alpha', reports.session);
  app.use('/v1/sql', reports.session);
  return {
    service,
    authorizeReport: reports.authorize,
    authorizeSql: reports.authorizeSql,
    close: async () => {
      layer.store.close();
      await deps.mailer.close();
    },
  };
}
