import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Protocol } from '../domain/raw-event.js';
import { httpStatusFor, TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { TenantProperty } from '../domain/tenant-property.js';
import type { PropertyResolver } from './ingest.ports.js';
import type { VisitorIds } from './visitor-id.js';
import type { IngestService } from './ingest.service.js';
import type { ParsedEvent, RefusedEvent } from './parsed-event.js';
import type { RequestContext } from './edge.js';

/** What every ingest route gets: the pipeline, the key cache, the cookieless visitor ids, a logger. */
export interface CollectorDeps {
  ingest: IngestService;
  credentials: PropertyResolver;
  visitorIds: VisitorIds;
  log: Logger;
  trustProxy: boolean;
}

/** One ingest endpoint; protocol modules contribute these (see protocol-routes.ts). */
export interface IngestRoute {
  path: string;
  methods: ('GET' | 'POST')[];
  handle: (deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext) => Promise<void>;
}

/** Admission (rate, quota) for the accepted events, then the durable append of events + dead letters. */
export async function admitAndAccept(
  deps: CollectorDeps,
  protocol: Protocol,
  events: ParsedEvent[],
  refused: RefusedEvent[],
  property: TenantProperty,
  ctx: RequestContext,
) {
  if (events.length) await deps.ingest.admit(property, events.length, ctx.receivedAt);
  return deps.ingest.accept(protocol, events, refused, property, ctx);
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

export function clientIp(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const xff = header(req, 'x-forwarded-for');
    if (xff) return xff.split(',')[0].trim();
  }
  return req.socket.remoteAddress ?? null;
}

export function cors(req: IncomingMessage, res: ServerResponse): void {
  const origin = header(req, 'origin');
  res.setHeader('access-control-allow-origin', origin ?? '*');
  if (origin) {
    res.setHeader('access-control-allow-credentials', 'true');
    res.setHeader('vary', 'Origin');
  }
  res.setHeader('access-control-allow-methods', 'GET, POST, OPTIONS');
  res.setHeader('access-control-allow-headers', header(req, 'access-control-request-headers') ?? 'content-type, authorization');
}

export function send(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) }).end(data);
}

/** Ingest errors: `{ error: { code, reason, message } }`, with Retry-After on 429 and 503. */
export function sendError(res: ServerResponse, err: TallyError, status = httpStatusFor(err.code)): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const retryAfterMs = Number(err.details.retryAfterMs);
  if ((status === 429 || status === 503) && Number.isFinite(retryAfterMs)) {
    res.setHeader('retry-after', String(Math.max(1, Math.ceil(retryAfterMs / 1000))));
  }
  const message = err.code === 'internal' ? 'internal error' : err.message;
  send(res, status, { error: { code: err.code, reason: err.details.reason ?? err.code, message } });
}
