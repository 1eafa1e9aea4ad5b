import type { IncomingMessage, ServerResponse } from 'node:http';
import { isTallyError, TallyError } from '../../infra/errors.js';
import type { TenantProperty } from '../../domain/tenant-property.js';
import type { RequestContext } from '../edge.js';
import { admitAndAccept, bearer, header, publicIdResolver, resolveFresh, type CollectorDeps, type IngestRoute } from '../ingest-http.js';
import { readBody } from '../http-body.js';
import type { ParsedEvent, RefusedEvent } from '../parsed-event.js';
import { sendGif } from './pixel.routes.js';
import { parseSnowplowGet, parseSnowplowPost, SNOWPLOW_LIMITS, SNOWPLOW_POST_PATH, type SnowplowParseResult } from './snowplow.parser.js';

/**
 * Snowplow collector paths. Each event's app id `aid` names its property (its site id or
 * measurement id `G-…`; never the numeric property id), unless the request carries an ingest key as
 * `Authorization: Bearer` (then every event goes to that key's property). Always 200, as the
 * Snowplow collector answers: unreadable bodies and events without a property are dead-lettered.
 * Only a wrong ingest key (401) and admission (429/503) answer otherwise; trackers retry 429/503.
 */
export const snowplowRoutes: IngestRoute[] = [
  {
    path: SNOWPLOW_POST_PATH,
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      const keyed = await keyedProperty(deps, req);
      const reqCtx = anonymous(req, ctx);
      let body: unknown;
      try {
        const bytes = await readBody(req, SNOWPLOW_LIMITS.maxBodyBytes);
        body = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        if (isTallyError(err) && !['payload_too_large', 'malformed_body', 'unsupported_media_type'].includes(err.code)) throw err;
        const reason = isTallyError(err) && err.code === 'payload_too_large' ? 'over_limit' : 'malformed_body';
        const detail = isTallyError(err) ? err.message : 'body is not valid JSON';
        const payload = { content_length: header(req, 'content-length'), content_encoding: header(req, 'content-encoding') };
        await deps.ingest.deadLetter('snowplow', [{ index: -1, reason, detail, payload }], keyed, ctx.receivedAt);
        return ok(res);
      }
      await accept(deps, parseSnowplowPost(body, ctx), keyed, reqCtx, req, res);
      ok(res);
    },
  },
  ...['/i', '/ice.png'].map((path): IngestRoute => ({
    path,
    methods: ['GET'],
    async handle(deps, req, res, url, ctx) {
      await accept(deps, parseSnowplowGet(url.searchParams, ctx), await keyedProperty(deps, req), anonymous(req, ctx), req, res);
      sendGif(res);
    },
  })),
];

function ok(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'content-length': 2 }).end('ok');
}

async function keyedProperty(deps: CollectorDeps, req: IncomingMessage): Promise<TenantProperty | null> {
  const key = bearer(req);
  if (!key) return null;
  const property = await resolveFresh(deps, () => deps.credentials.resolveKey(key, 'ingest'));
  if (!property) throw new TallyError('unauthenticated', 'unknown or revoked ingest key', { reason: 'bad_key' });
  return property;
}

/** `SP-Anonymous`: the tracker asks that the request's IP not be recorded. */
function anonymous(req: IncomingMessage, ctx: RequestContext): RequestContext {
  return header(req, 'sp-anonymous') ? { ...ctx, ip: null } : ctx;
}

/** Events and refusals grouped by the property their `aid` (or the key) names; the rest dead-lettered without one. */
async function accept(
  deps: CollectorDeps,
  parsed: SnowplowParseResult,
  keyed: TenantProperty | null,
  ctx: RequestContext,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const groups = new Map<string, { property: TenantProperty; events: ParsedEvent[]; refused: RefusedEvent[] }>();
  const orphans: RefusedEvent[] = [];
  const group = (property: TenantProperty) => {
    let g = groups.get(property.propertyId);
    if (!g) groups.set(property.propertyId, (g = { property, events: [], refused: [] }));
    return g;
  };
  const byAid = publicIdResolver(deps);
  const lookup = async (aid: string | null) => keyed ?? (aid ? await byAid(aid) : null);
  for (const { appId, event, payload } of parsed.events) {
    const property = await lookup(appId);
    if (property) group(property).events.push(event);
    else orphans.push({ index: -1, reason: 'unknown_property', detail: appId ? `no property for aid ${appId.slice(0, 64)}` : 'aid: required', payload });
  }
  for (const r of parsed.refused) {
    const aid = typeof (r.payload as { aid?: unknown } | null)?.aid === 'string' ? (r.payload as { aid: string }).aid : null;
    const property = await lookup(aid);
    if (property) group(property).refused.push(r);
    else orphans.push(r);
  }
  const sender = keyed ? 'keyed' : 'browser';
  for (const g of groups.values()) await admitAndAccept(deps, 'snowplow', g.events, g.refused, g.property, ctx, { req, res, sender });
  if (orphans.length) await deps.ingest.deadLetter('snowplow', orphans, null, ctx.receivedAt);
}
