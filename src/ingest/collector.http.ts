import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallyError, TallyError } from '../infra/errors.js';
import { metrics } from '../infra/metrics/metrics.js';
import type { RequestContext } from './edge.js';
import { cors, header, preflightAllows, sendError, type CollectorDeps, type IngestRoute } from './ingest-http.js';
import { PROTOCOL_ROUTES } from './protocol-routes.js';
import { VisitorIds } from './visitor-id.js';
import { RequestUrl } from './request-url.js';

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

  // the level is read once: a per-request check would cost more than the line it skips
  const debug = deps.log.isLevelEnabled('debug');
  const done = (protocol: string, req: IncomingMessage, res: ServerResponse, path: string, receivedAt: number) => {
    metrics.ingestRequest(protocol, res.statusCode);
    // the path only: query strings carry secrets (MP's api_secret)
    if (debug) deps.log.debug({ method: req.method, path, status: res.statusCode, ms: Date.now() - receivedAt }, 'ingest request');
  };

  /** One ingest request after routing; a plain async function, so no closures per request. */
  const serve = async (route: IngestRoute, protocol: string, req: IncomingMessage, res: ServerResponse, url: RequestUrl): Promise<void> => {
    const ctx: RequestContext = { receivedAt: Date.now(), userAgent: header(req, 'user-agent'), ip: deps.proxy.clientIp(req) };
    try {
      await route.handle(deps, req, res, url, ctx);
    } catch (err) {
      if (!isTallyError(err)) deps.log.error({ err, path: url.pathname }, 'ingest request failed');
      else if (err.details.reason === 'request_aborted') deps.log.debug({ path: url.pathname }, 'request ended mid-body');
      sendError(res, isTallyError(err) ? err : new TallyError('internal', 'internal error'));
    }
    done(protocol, req, res, url.pathname, ctx.receivedAt);
  };

  const handler = (req: IncomingMessage, res: ServerResponse): boolean => {
    // the path and query are split once; routes read them from this, never from a parsed URL
    const url = RequestUrl.of(req.url);
    const path = url.pathname;
    const route = byPath.get(path);
    if (!route) return false;
    cors(req, res);
    if (req.method === 'OPTIONS') {
      const origin = preflightAllows(deps.credentials, req, url);
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
    void serve(route, route.protocol ?? path, req, res, url);
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
