import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallyError } from '../infra/errors.js';
import type { Protocol } from '../domain/raw-event.js';
import type { Logger } from '../infra/logger.js';
import type { ProxyTrust } from '../infra/http/proxy-trust.port.js';
import { sendErrorBody } from '../infra/error-body.js';
import type { TenantProperty } from '../domain/tenant-property.js';
import type { PropertyResolver } from './ingest.ports.js';
import type { VisitorIds } from './visitor-id.js';
import type { IngestService } from './ingest.service.js';
import type { ParsedEvent, RefusedEvent } from './parsed-event.js';
import type { RequestContext } from './edge.js';
import { urlHost } from '../domain/allowed-hostnames.js';
import type { IngestUrl } from './request-url.js';

/** What every ingest route gets: the pipeline, the key cache, the cookieless visitor ids, a logger. */
export interface CollectorDeps {
  ingest: IngestService;
  credentials: PropertyResolver;
  visitorIds: VisitorIds;
  log: Logger;
  /** Which forwarding headers to believe (TALLY_TRUST_PROXY). */
  proxy: ProxyTrust;
}

/** One ingest endpoint; protocol modules contribute these (see protocol-routes.ts). */
export interface IngestRoute {
  path: string;
  /** The metrics label of its requests; protocol-routes.ts sets it from the list the route is in. */
  protocol?: string;
  methods: ('GET' | 'POST')[];
  handle: (deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, url: IngestUrl, ctx: RequestContext) => Promise<void>;
}

/**
 * Who sent a request, which decides what applies to it:
 * - `browser`: anonymous, by a public id (gtag, pixel, tally.js, Snowplow without a key, Umami,
 *   Plausible): hits from hosts the property does not allow are dead-lettered
 *   (`hostname_not_allowed`), and the anonymous rate buckets (property + client IP) apply.
 * - `keyed`: a secret key (native, Segment, PostHog, Snowplow with a key): the keyed bucket.
 * - `keyed-no-retry`: GA4 MP, whose clients never retry a 429: over-limit events go to the
 *   dead-letter output (`rate_limited`) with a 2xx answer, up to a hard cap, and so do events past
 *   the plan's monthly hard cap (`quota_exceeded`), so an upgrade can re-drive them.
 * Every kind gets CORS for the origins the property allows, and only those.
 */
export type Sender = 'browser' | 'keyed' | 'keyed-no-retry';

/** Admission (hosts, rate, quota) for the accepted events, then the durable append of events + dead letters. */
export async function admitAndAccept(
  deps: CollectorDeps,
  protocol: Protocol,
  events: ParsedEvent[],
  refused: RefusedEvent[],
  property: TenantProperty,
  ctx: RequestContext,
  http: { req: IncomingMessage; res: ServerResponse; sender: Sender },
) {
  allowOrigin(deps.credentials, http.req, http.res, property);
  if (http.sender === 'browser' && events.length) ({ events, refused } = refuseForeignHosts(deps.credentials, http.req, property, events, refused));
  let overQuota = 0;
  if (events.length) {
    try {
      ({ overQuota } = await deps.ingest.admit(property, events.length, ctx.receivedAt, http.sender !== 'browser', ctx.ip));
    } catch (err) {
      if (!(http.sender === 'keyed-no-retry' && isTallyError(err) && (err.code === 'rate_limited' || err.code === 'quota_exceeded'))) throw err;
      const reason = err.code === 'quota_exceeded' ? ('quota_exceeded' as const) : ('rate_limited' as const);
      // past the monthly hard cap the rate limit still bounds what is kept; over the rate, its own cap does
      if (reason === 'rate_limited' && !(await deps.ingest.withinHardCap(property, events.length))) throw err;
      const detail = `${err.message}; kept here instead of refused, as the sender does not retry`;
      refused = [...refused, ...events.map((payload) => ({ index: -1, reason, detail, payload }))];
      events = [];
    }
  }
  return deps.ingest.accept(protocol, events, refused, property, ctx, overQuota);
}

/**
 * Browser hits from hosts the property does not allow: every event of the request when its
 * `Origin` or `Referer` names one, else each event whose page URL does. Events without any of
 * these (an app, a server-side sender) are not judged. Dead-lettered with the parsed event as
 * payload, so nothing is lost and support can re-drive them.
 */
export function refuseForeignHosts(
  credentials: PropertyResolver,
  req: IncomingMessage,
  property: TenantProperty,
  events: ParsedEvent[],
  refused: RefusedEvent[],
): { events: ParsedEvent[]; refused: RefusedEvent[] } {
  const origin = urlHost(header(req, 'origin')) ?? urlHost(header(req, 'referer'));
  const requestDenied = origin !== null && !credentials.hostAllowed(property, origin);
  let kept: ParsedEvent[] | null = null;
  let denied: RefusedEvent[] | null = null;
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    const host = requestDenied ? origin : urlHost(e.url);
    if (host === null || (!requestDenied && credentials.hostAllowed(property, host))) {
      kept?.push(e);
      continue;
    }
    kept ??= events.slice(0, i);
    (denied ??= []).push({
      index: -1,
      reason: 'hostname_not_allowed',
      detail: `${host} is not an allowed hostname of property ${property.measurementId}`,
      payload: e,
    });
  }
  return kept && denied ? { events: kept, refused: [...refused, ...denied] } : { events, refused };
}

const CORS_DENIED = Symbol('tally.corsDenied');

/**
 * CORS for a request resolved to `property`: echoes the Origin (with credentials) only when the
 * property allows its host; never `*`, never `null`. A request spanning several properties
 * (Snowplow, Umami batches) gets it only when every one of them allows it.
 */
export function allowOrigin(credentials: PropertyResolver, req: IncomingMessage, res: ServerResponse, property: TenantProperty): void {
  const origin = header(req, 'origin');
  if (!origin || res.headersSent) return;
  const r = res as ServerResponse & { [CORS_DENIED]?: true };
  const host = urlHost(origin);
  if (r[CORS_DENIED] || host === null || !credentials.hostAllowed(property, host)) {
    r[CORS_DENIED] = true;
    res.removeHeader('access-control-allow-origin');
    res.removeHeader('access-control-allow-credentials');
    return;
  }
  res.setHeader('access-control-allow-origin', origin);
  res.setHeader('access-control-allow-credentials', 'true');
}

/**
 * Looks a credential up, and on a miss waits for one refresh of the credential cache (bounded,
 * shared with concurrent misses, at most one per second) before looking again: a key or property
 * created by another process a moment ago works on its first request.
 */
/**
 * Public ids of a request naming several (Snowplow events, Umami batches): each resolved through
 * `resolveFresh`, but one request waits for at most one refresh, however many ids it misses.
 */
export function publicIdResolver(deps: CollectorDeps): (id: string) => Promise<TenantProperty | null> {
  let waited = false;
  const seen = new Map<string, TenantProperty | null>();
  return async (id) => {
    if (seen.has(id)) return seen.get(id)!;
    let p = deps.credentials.resolvePublicId(id);
    if (!p && !waited) {
      waited = true;
      if (await deps.credentials.awaitRefresh()) p = deps.credentials.resolvePublicId(id);
    }
    seen.set(id, p);
    return p;
  };
}

export async function resolveFresh<T>(deps: CollectorDeps, lookup: () => T): Promise<T> {
  const found = lookup();
  if (found && !(typeof found === 'object' && 'error' in found)) return found;
  return (await deps.credentials.awaitRefresh()) ? lookup() : found;
}

export function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

export function bearer(req: IncomingMessage): string | null {
  const h = header(req, 'authorization');
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? m[1] : null;
}

/**
 * The CORS headers every collect response carries; the allowed origin itself is echoed only once
 * the request is resolved to a property that allows it (`allowOrigin`), or, for a preflight,
 * by `preflightAllows`.
 */
export function cors(req: IncomingMessage, res: ServerResponse): void {
  res.setHeader('vary', 'Origin');
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-allow-headers', header(req, 'access-control-request-headers') ?? 'content-type, authorization');
}

/**
 * A preflight carries no body or credentials: the property comes from the query's public id when
 * there is one (tally.js `mid`, gtag `tid`, MP `measurement_id`), else any property allowing the
 * origin's host lets it through (the request itself is then judged against its own property).
 */
export function preflightAllows(credentials: PropertyResolver, req: IncomingMessage, url: IngestUrl): string | null {
  const origin = header(req, 'origin');
  const host = urlHost(origin);
  if (!origin || host === null) return null;
  const id = url.searchParams.get('mid') ?? url.searchParams.get('tid') ?? url.searchParams.get('measurement_id');
  const property = id ? credentials.resolvePublicId(id) : null;
  const ok = property ? credentials.hostAllowed(property, host) : credentials.anyAllows(host);
  return ok ? origin : null;
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }).end(data);
}

/** Ingest errors: the one error body (`{ error: { code, reason, message } }`, Retry-After on 429 and 503). */
export function sendError(res: ServerResponse, err: unknown, status?: number): void {
  sendErrorBody(res, err, status);
}
