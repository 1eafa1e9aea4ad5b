import type { ServerResponse } from 'node:http';
import { isTallyError, type TallyError } from '../../infra/errors.js';
import { admitAndAccept, resolveFresh, send, sendError, type CollectorDeps, type IngestRoute } from '../ingest-http.js';
import { readBody } from '../http-body.js';
import type { RequestContext } from '../edge.js';
import type { IngestUrl } from '../request-url.js';
import type { IncomingMessage } from 'node:http';
import { decodePostHogBody, parsePostHog, parseTime, POSTHOG_LIMITS } from './posthog.parser.js';

/**
 * PostHog capture: customers use a Tally ingest key as the PostHog project API key and point the
 * SDK's host at Tally. Answers `{"status":1}` (204 with `beacon=1`); 400/401 in PostHog's error
 * shape, which its SDKs do not retry. Invalid events inside a valid batch are dead-lettered.
 */
const EVENT_PATHS = ['/e', '/i/v0/e', '/capture', '/track', '/engage'];
const BATCH_PATHS = ['/batch'];

export const posthogRoutes: IngestRoute[] = [
  ...EVENT_PATHS.flatMap((p) => [p, `${p}/`]).map((path) => route(path, POSTHOG_LIMITS.maxEventBodyBytes)),
  ...BATCH_PATHS.flatMap((p) => [p, `${p}/`]).map((path) => route(path, POSTHOG_LIMITS.maxBatchBodyBytes)),
];

function route(path: string, maxBytes: number): IngestRoute {
  return {
    path,
    methods: ['GET', 'POST'],
    handle: (deps, req, res, url, ctx) => capture(deps, req, res, url, ctx, maxBytes),
  };
}

async function capture(deps: CollectorDeps, req: IncomingMessage, res: ServerResponse, url: IngestUrl, ctx: RequestContext, maxBytes: number) {
  try {
    const body = req.method === 'GET' ? Buffer.alloc(0) : await readBody(req, maxBytes);
    if (!body.length && !url.searchParams.has('data')) return fail(res, 400, 'validation_error', 'empty_payload', 'the request has no events');
    const decoded = decodePostHogBody(body, url.searchParams, maxBytes);
    const sentAtMs = parseTime(url.searchParams.get('_') ?? url.searchParams.get('sent_at'));
    const parsed = parsePostHog(decoded, { receivedAt: ctx.receivedAt, sentAtMs, engage: url.pathname.startsWith('/engage') });
    const property = await resolveFresh(deps, () => deps.credentials.resolveKey(parsed.token, 'ingest'));
    if (!property)
      return fail(
        res,
        401,
        'authentication_error',
        'invalid_api_key',
        'Project API key invalid. You can find your project API key in Tally as your ingest key.',
      );
    await admitAndAccept(deps, 'posthog', parsed.events, parsed.refused, property, ctx, { req, res, sender: 'keyed' });
  } catch (err) {
    if (!isTallyError(err)) throw err;
    if (err.code === 'malformed_body' || err.code === 'invalid_argument' || err.code === 'unsupported_media_type') {
      return fail(res, 400, 'validation_error', 'invalid_payload', err.message);
    }
    if (err.code === 'unauthenticated') return fail(res, 401, 'authentication_error', 'invalid_api_key', err.message);
    return sendError(res, err as TallyError);
  }
  if (url.searchParams.get('beacon') === '1') res.writeHead(204).end();
  else send(res, 200, { status: 1 });
}

function fail(res: ServerResponse, status: number, type: string, code: string, detail: string): void {
  send(res, status, { type, code, detail, attr: null });
}
