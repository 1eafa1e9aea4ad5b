import { TallyError } from '../../infra/errors.js';
import { admitAndAccept, bearer, resolveFresh, send, type IngestRoute } from '../ingest-http.js';
import { parseJson, readBody } from '../http-body.js';
import { NATIVE_LIMITS, parseNative } from './native.parser.js';

/** Tally's native batch endpoint: ingest key as Bearer, per-event results. */
export const nativeRoutes: IngestRoute[] = [
  {
    path: '/v1/collect',
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      const token = bearer(req);
      if (!token) throw new TallyError('unauthenticated', 'an ingest key is required as "Authorization: Bearer <key>"', { reason: 'key_missing' });
      const property = await resolveFresh(deps, () => deps.credentials.resolveKey(token, 'ingest'));
      if (!property) throw new TallyError('unauthenticated', 'unknown or revoked ingest key', { reason: 'bad_key' });
      const parsed = parseNative(parseJson(await readBody(req, NATIVE_LIMITS.maxBodyBytes)), ctx);
      const events = await admitAndAccept(deps, 'native', parsed.events, parsed.refused, property, ctx, { req, res, sender: 'keyed' });
      const results: { index: number; status: 'accepted' | 'rejected'; event_id?: string; reason?: string; detail?: string }[] = [];
      events.forEach((e, i) => results.push({ index: parsed.indexes[i], status: 'accepted', event_id: e.event_id }));
      for (const r of parsed.refused) results.push({ index: r.index, status: 'rejected', reason: r.reason, detail: r.detail });
      results.sort((a, b) => a.index - b.index);
      send(res, 200, { accepted: events.length, rejected: parsed.refused.length, results });
    },
  },
];
