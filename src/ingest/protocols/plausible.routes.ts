import type { ServerResponse } from 'node:http';
import { isTallyError } from '../../infra/errors.js';
import { admitAndAccept, header, resolveFresh, type IngestRoute } from '../ingest-http.js';
import { parseJson, readBody } from '../http-body.js';
import { forwardedVisitorIp } from '../visitor-id.js';
import { parsePlausible, PLAUSIBLE_LIMITS, type PlausibleErrors } from './plausible.parser.js';

/**
 * Plausible Events API: `POST /api/event`; the first listed domain some property owns selects it;
 * 202 `ok`, or 400 `{ errors }` as Plausible answers. Events for a domain nobody owns are
 * dead-lettered and answered 202 with `x-plausible-dropped: 1`, as Plausible drops them.
 */
export const plausibleRoutes: IngestRoute[] = [
  {
    path: '/api/event',
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      let body: unknown;
      try {
        body = parseJson(await readBody(req, PLAUSIBLE_LIMITS.maxBodyBytes));
      } catch (err) {
        if (isTallyError(err) && (err.code === 'malformed_body' || err.code === 'unsupported_media_type')) {
          return invalid(res, { request: ['Unable to parse request body as json'] });
        }
        throw err;
      }
      const parsed = parsePlausible(body);
      if (!parsed.ok) return invalid(res, parsed.errors);

      const property = await resolveFresh(deps, () => parsed.domains.map((d) => deps.credentials.resolveDomain(d)).find((p) => p) ?? null);
      if (!property) {
        await deps.ingest.deadLetter(
          'plausible',
          [{ index: 0, reason: 'unknown_property', detail: `no property for domain ${parsed.domains.join(',')}`, payload: body }],
          null,
          ctx.receivedAt,
        );
        res.writeHead(202, { 'content-type': 'text/plain', 'x-plausible-dropped': '1' }).end('ok');
        return;
      }
      const event = parsed.event;
      // server-side senders forward the visitor's IP in X-Forwarded-For (Plausible's docs)
      event.ip = forwardedVisitorIp(req, deps.proxy.enabled);
      event.client_id = await deps.visitorIds.visitorId(
        { propertyId: property.propertyId, ip: event.ip ?? ctx.ip, userAgent: header(req, 'user-agent') },
        ctx.receivedAt,
      );
      await admitAndAccept(deps, 'plausible', [event], [], property, ctx, { req, res, sender: 'browser' });
      res.writeHead(202, { 'content-type': 'text/plain' }).end('ok');
    },
  },
];

function invalid(res: ServerResponse, errors: PlausibleErrors): void {
  const data = JSON.stringify({ errors });
  res.writeHead(400, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data), 'x-plausible-dropped': '1' }).end(data);
}
