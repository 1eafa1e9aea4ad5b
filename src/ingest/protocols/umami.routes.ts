import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { IDENTITY_LINK_EVENT } from '../../domain/identity-link.js';
import { isTallyError } from '../../infra/errors.js';
import { admitAndAccept, header, publicIdResolver, send, type CollectorDeps, type IngestRoute } from '../ingest-http.js';
import { parseJson, readBody } from '../http-body.js';
import type { RequestContext } from '../edge.js';
import { forwardedVisitorIp } from '../visitor-id.js';
import type { ParsedEvent } from '../parsed-event.js';
import type { TenantProperty } from '../../domain/tenant-property.js';
import { parseUmami, UMAMI_LIMITS } from './umami.parser.js';

/**
 * Umami's tracker stores the `cache` token we answer and sends it back as `x-umami-cache`; Umami
 * uses it to skip a session lookup. We keep no session state, so the token is a constant that
 * carries nothing, and whatever comes back in the header is ignored.
 */
export const UMAMI_CACHE_TOKEN = 'tally.v1';

type ItemResult = { status: 200; body: { cache: string; sessionId: string; visitId: string } } | { status: 400; body: UmamiError };
type UmamiError = { error: { message: string; code: 'bad-request'; status: 400 } };

/** Umami: `POST /api/send` (one `{ type, payload }`) and `POST /api/batch` (an array of them). */
export const umamiRoutes: IngestRoute[] = [
  {
    path: '/api/send',
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      const body = await readUmamiBody(req, res);
      if (body === undefined) return;
      const [r] = await processItems(deps, req, res, [body], ctx);
      send(res, r.status, r.body);
    },
  },
  {
    path: '/api/batch',
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      const body = await readUmamiBody(req, res);
      if (body === undefined) return;
      if (!Array.isArray(body)) return send(res, 400, badRequest('body: expected an array of { type, payload }'));
      if (body.length > UMAMI_LIMITS.maxBatch) return send(res, 400, badRequest(`at most ${UMAMI_LIMITS.maxBatch} items per batch`));
      const results = await processItems(deps, req, res, body, ctx);
      const errors = results.filter((r) => r.status !== 200).length;
      send(res, 200, {
        size: body.length,
        processed: body.length - errors,
        errors,
        details: results.flatMap((r, index) => (r.status === 200 ? [] : [{ index, response: r.body }])),
        cache: UMAMI_CACHE_TOKEN,
      });
    },
  },
];

async function readUmamiBody(req: IncomingMessage, res: ServerResponse): Promise<unknown> {
  try {
    return parseJson(await readBody(req, UMAMI_LIMITS.maxBodyBytes));
  } catch (err) {
    if (isTallyError(err) && (err.code === 'malformed_body' || err.code === 'unsupported_media_type')) {
      send(res, 400, badRequest(err.message));
      return undefined;
    }
    throw err;
  }
}

/** Parses, resolves and fills each item, then admits and appends them per property. */
async function processItems(deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, items: unknown[], ctx: RequestContext): Promise<ItemResult[]> {
  const resolve = publicIdResolver(deps);
  const results: ItemResult[] = [];
  const byProperty = new Map<string, { property: TenantProperty; events: ParsedEvent[] }>();
  const unknown: { index: number; website: string; item: unknown }[] = [];
  const headerIp = forwardedVisitorIp(req, deps.proxy.enabled);
  for (const [index, item] of items.entries()) {
    const parsed = parseUmami(item, ctx);
    if (!parsed.ok) {
      results.push({ status: 400, body: badRequest(parsed.error) });
      continue;
    }
    const property = await resolve(parsed.website);
    if (!property) {
      unknown.push({ index, website: parsed.website, item });
      results.push({ status: 400, body: badRequest('Website not found.') });
      continue;
    }
    const e = parsed.event;
    e.ip ??= headerIp;
    const hash = await deps.visitorIds.visitorId(
      { propertyId: property.propertyId, ip: e.ip ?? ctx.ip, userAgent: e.ua ?? header(req, 'user-agent') },
      ctx.receivedAt,
    );
    e.client_id ??= hash;
    if (e.name === IDENTITY_LINK_EVENT) e.params.client_id = hash;
    const group = byProperty.get(property.propertyId) ?? { property, events: [] };
    group.events.push(e);
    byProperty.set(property.propertyId, group);
    const session = uuidFrom(`${property.propertyId}:${e.client_id}`);
    results.push({
      status: 200,
      body: { cache: UMAMI_CACHE_TOKEN, sessionId: session, visitId: uuidFrom(`${session}:${new Date(ctx.receivedAt).toISOString().slice(0, 13)}`) },
    });
  }
  if (unknown.length) {
    await deps.ingest.deadLetter(
      'umami',
      unknown.map((u) => ({ index: u.index, reason: 'unknown_property', detail: `unknown website ${u.website}`, payload: u.item })),
      null,
      ctx.receivedAt,
    );
  }
  for (const { property, events } of byProperty.values()) await admitAndAccept(deps, 'umami', events, [], property, ctx, { req, res, sender: 'browser' });
  return results;
}

function badRequest(message: string): UmamiError {
  return { error: { message, code: 'bad-request', status: 400 } };
}

/** A UUID-shaped digest: Umami's clients expect UUIDs for sessionId and visitId. */
function uuidFrom(s: string): string {
  const h = createHash('sha256').update(s).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
