import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Protocol } from '../domain/raw-event.js';
import { httpStatusFor, isTallyError, TallyError } from '../infra/errors.js';
import type { Logger } from '../infra/logger.js';
import type { CredentialCache } from '../tenancy/credential-cache.js';
import type { PropertyRow } from '../tenancy/tenant.repository.js';
import type { IngestService } from './ingest.service.js';
import { parseJson, readBody } from './http-body.js';
import type { RequestContext } from './edge.js';
import { parseNative, NATIVE_LIMITS } from './protocols/native.parser.js';
import { parseGa4Mp, parseGa4MpBody } from './protocols/ga4-mp.parser.js';

const MP_MAX_BODY = 130 * 1024;

export interface CollectorDeps {
  ingest: IngestService;
  credentials: CredentialCache;
  log: Logger;
  trustProxy: boolean;
}

type Route = (req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext) => Promise<void>;

/**
 * The collector's HTTP edge on bare node:http (Express costs ~5x the request rate here).
 * Returns a handler that answers ingest paths and returns false for anything else.
 */
export function createCollector(deps: CollectorDeps) {
  let draining = false;

  const routes: Record<string, { methods: string[]; handle: Route }> = {
    '/mp/collect': { methods: ['POST'], handle: (req, res, url, ctx) => ga4Collect(deps, req, res, url, ctx) },
    '/debug/mp/collect': { methods: ['POST'], handle: (req, res, _url, ctx) => ga4Debug(req, res, ctx) },
    '/v1/collect': { methods: ['POST'], handle: (req, res, _url, ctx) => nativeCollect(deps, req, res, ctx) },
  };

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
    const route = routes[path];
    if (!route) return false;
    cors(req, res);
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { 'access-control-max-age': '86400' }).end();
      return true;
    }
    if (!route.methods.includes(req.method ?? '')) {
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
    route.handle(req, res, url, ctx).catch((err) => {
      if (!isTallyError(err)) deps.log.error({ err, path }, 'ingest request failed');
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

async function ga4Collect(deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, url: URL, ctx: RequestContext): Promise<void> {
  const measurementId = url.searchParams.get('measurement_id') ?? url.searchParams.get('firebase_app_id');
  const apiSecret = url.searchParams.get('api_secret');
  if (!measurementId) throw new TallyError('invalid_argument', 'measurement_id is required', { reason: 'measurement_id_missing' });
  if (!apiSecret) throw new TallyError('unauthenticated', 'api_secret is required', { reason: 'api_secret_missing' });
  const resolved = deps.credentials.resolveMeasurement(measurementId, apiSecret);
  if ('error' in resolved) {
    if (resolved.error === 'unknown_measurement_id') throw new TallyError('not_found', `unknown measurement_id ${measurementId}`, { reason: 'unknown_measurement_id' });
    throw new TallyError('permission_denied', 'api_secret does not belong to this measurement_id', { reason: 'bad_api_secret' });
  }
  const property = resolved.property;
  const body = parseGa4MpBody(await readBody(req, MP_MAX_BODY));
  const parsed = parseGa4Mp(body, { receivedAt: ctx.receivedAt });
  await admitAndAccept(deps, 'ga4mp', parsed.events, parsed.refused, property, ctx);
  res.writeHead(204).end();
}

async function ga4Debug(req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  let messages;
  try {
    const body = parseGa4MpBody(await readBody(req, MP_MAX_BODY));
    messages = parseGa4Mp(body, { receivedAt: ctx.receivedAt }).validationMessages;
  } catch (err) {
    if (!isTallyError(err) || err.code === 'internal') throw err;
    messages = [{ fieldPath: '', description: err.message, validationCode: 'VALUE_INVALID' }];
  }
  send(res, 200, { validationMessages: messages });
}

async function nativeCollect(deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, ctx: RequestContext): Promise<void> {
  const token = bearer(req);
  if (!token) throw new TallyError('unauthenticated', 'an ingest key is required as "Authorization: Bearer <key>"', { reason: 'key_missing' });
  const property = deps.credentials.resolveKey(token, 'ingest');
  if (!property) throw new TallyError('unauthenticated', 'unknown or revoked ingest key', { reason: 'bad_key' });
  const parsed = parseNative(parseJson(await readBody(req, NATIVE_LIMITS.maxBodyBytes)), ctx);
  const events = await admitAndAccept(deps, 'native', parsed.events, parsed.refused, property, ctx);
  const results: { index: number; status: 'accepted' | 'rejected'; event_id?: string; reason?: string; detail?: string }[] = [];
  events.forEach((e, i) => results.push({ index: parsed.indexes[i], status: 'accepted', event_id: e.event_id }));
  for (const r of parsed.refused) results.push({ index: r.index, status: 'rejected', reason: r.reason, detail: r.detail });
  results.sort((a, b) => a.index - b.index);
  send(res, 200, { accepted: events.length, rejected: parsed.refused.length, results });
}

async function admitAndAccept(
  deps: CollectorDeps,
  protocol: Protocol,
  events: Parameters<IngestService['accept']>[1],
  refused: Parameters<IngestService['accept']>[2],
  property: PropertyRow,
  ctx: RequestContext,
) {
  if (events.length) await deps.ingest.admit(property, events.length, ctx.receivedAt);
  return deps.ingest.accept(protocol, events, refused, property, ctx);
}

function header(req: IncomingMessage, name: string): string | null {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? null;
}

function bearer(req: IncomingMessage): string | null {
  const h = header(req, 'authorization');
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  return m ? m[1] : null;
}

function clientIp(req: IncomingMessage, trustProxy: boolean): string | null {
  if (trustProxy) {
    const xff = header(req, 'x-forwarded-for');
    if (xff) return xff.split(',')[0].trim();
  }
  return req.socket.remoteAddress ?? null;
}

function cors(req: IncomingMessage, res: ServerResponse): void {
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
