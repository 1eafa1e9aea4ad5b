import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallyError, TallyError } from '../infra/errors.js';
import type { RequestContext } from './edge.js';
import { clientIp, cors, header, preflightAllows, send, sendError, type CollectorDeps, type IngestRoute } from './ingest-http.js';
import { PROTOCOL_ROUTES } from './protocol-routes.js';
import { VisitorIds } from './visitor-id.js';

export type { CollectorDeps } from './ingest-http.js';

/**
 * The collector's HTTP edge on bare node:http (Express costs ~5x the request rate here).
 * Returns a handler that answers ingest paths and returns false for anything else. Without
 * `visitorIds` the cookieless ids use a salt held in this process.
 */
export function createCollector(input: Omit<CollectorDeps, 'visitorIds'> & { visitorIds?: VisitorIds }, routes: IngestRoute[] = PROTOCOL_ROUTES) {
  const deps: CollectorDeps = { ...input, visitorIds: input.visitorIds ?? new VisitorIds() };
  let draining = false;
  const byPath = new Map(routes.map((r) => [r.path, r]));

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    const q = req.url?.indexOf('?') ?? -1;
    const path = q >= 0 ? req.url!.slice(0, q) : (req.url ?? '/');
    if (path === '/healthz') {
      send(res, 200, { status: 'ok' });
      return true;
    }
    if (path === '/readyz') {
      send(res, draining ? 503 : 200, { status: draining ? 'draining' : 'ready' });
      return true;
    }
    const route = byPath.get(path);
    if (!route) return false;
    cors(req, res);
    if (req.method === 'OPTIONS') {
      const origin = preflightAllows(deps.credentials, req, new URL(req.url ?? '/', 'http://collector'));
      if (origin) res.setHeader('access-control-allow-origin', origin).setHeader('access-control-allow-credentials', 'true');
      res.writeHead(204, { 'access-control-max-age': '86400' }).end();
      return true;
    }
    if (!(route.methods as string[]).includes(req.method ?? '')) {
      res.setHeader('allow', [...route.methods, 'OPTIONS'].join(', '));
      sendError(res, new TallyError('invalid_argument', `${req.method} not allowed on ${path}`, { reason: 'method_not_allowed' }), 405);
      return true;
    }
    if (draining) {
      res.setHeader('connection', 'close');
      sendError(res, new TallyError('unavailable', 'the collector is shutting down', { reason: 'draining', retryAfterMs: 1000 }));
      return true;
    }
    const url = new URL(req.url ?? '/', 'http://collector');
    const ctx: RequestContext = { receivedAt: Date.now(), userAgent: header(req, 'user-agent'), ip: clientIp(req, deps.trustProxy) };
    route.handle(deps, req, res, url, ctx).catch((err) => {
      if (!isTallyError(err)) deps.log.error({ err, path }, 'ingest request failed');
      else if (err.details.reason === 'request_aborted') deps.log.debug({ path }, 'request ended mid-body');
      sendError(res, isTallyError(err) ? err : new TallyError('internal', 'internal error'));
    });
    return true;
  };

  return {
    handler,
    /** Stop accepting ingest requests (answered 503) while in-flight ones finish. */
    drain(): void {
      draining = true;
    },
  };
}
