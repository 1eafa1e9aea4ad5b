import { isTallyError, TallyError } from '../../infra/errors.js';
import { admitAndAccept, header, resolveFresh, send, type IngestRoute } from '../ingest-http.js';
import { parseJson, readBody } from '../http-body.js';
import { parseSegment, SEGMENT_LIMITS, SEGMENT_PATHS, segmentBasicKey, type SegmentCall } from './segment.parser.js';

/**
 * Segment's HTTP Tracking API with an ingest key as the write key (Basic auth user, or `writeKey`
 * in the body). 200 `{"success":true}` for every readable request, as Segment answers; 400 for a
 * body too large or not JSON; refused messages are dead-lettered.
 */
function segmentRoute(path: string, call: SegmentCall): IngestRoute {
  const limit = call === 'batch' ? SEGMENT_LIMITS.maxBatchBytes : SEGMENT_LIMITS.maxMessageBytes;
  return {
    path,
    methods: ['POST'],
    async handle(deps, req, res, _url, ctx) {
      let bytes: Buffer;
      try {
        bytes = await readBody(req, limit);
      } catch (err) {
        // Segment answers 400 for an oversized request, which its libraries never retry.
        if (isTallyError(err) && err.code === 'payload_too_large') {
          throw new TallyError('invalid_argument', `${call === 'batch' ? 'batch' : 'message'} larger than ${limit} bytes`, { reason: 'body_too_large', limit });
        }
        throw err;
      }
      const parsed = parseSegment(parseJson(bytes), call, ctx);
      const key = segmentBasicKey(header(req, 'authorization')) ?? parsed.writeKey;
      if (!key) throw new TallyError('unauthenticated', 'a write key is required (Basic auth user, or "writeKey" in the body)', { reason: 'key_missing' });
      const property = await resolveFresh(deps, () => deps.credentials.resolveKey(key, 'ingest'));
      if (!property) throw new TallyError('unauthenticated', 'unknown or revoked write key', { reason: 'bad_key' });
      await admitAndAccept(deps, 'segment', parsed.events, parsed.refused, property, ctx, { req, res, sender: 'keyed' });
      send(res, 200, { success: true });
    },
  };
}

export const segmentRoutes: IngestRoute[] = Object.entries(SEGMENT_PATHS).map(([p, call]) => segmentRoute(`/v1/${p}`, call));
