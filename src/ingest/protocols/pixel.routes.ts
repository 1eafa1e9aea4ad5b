import type { ServerResponse } from 'node:http';
import { TallyError } from '../../infra/errors.js';
import { admitAndAccept, resolveFresh, type IngestRoute } from '../ingest-http.js';
import { parsePixel, pixelPropertyRef } from './pixel.parser.js';

/** The smallest transparent GIF: 1x1, one transparent colour. */
export const TRANSPARENT_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** Answers a 1x1 transparent GIF that no cache keeps, so every open or view reaches us. */
export function sendGif(res: ServerResponse): void {
  res
    .writeHead(200, {
      'content-type': 'image/gif',
      'content-length': TRANSPARENT_GIF.length,
      'cache-control': 'no-cache, no-store, must-revalidate, private',
      pragma: 'no-cache',
      expires: '0',
    })
    .end(TRANSPARENT_GIF);
}

/** `GET /i.gif`: one event from the query string; a refused event is dead-lettered and still gets the GIF. */
export const pixelRoutes: IngestRoute[] = [
  {
    path: '/i.gif',
    methods: ['GET'],
    async handle(deps, req, res, url, ctx) {
      const ref = pixelPropertyRef(url.searchParams);
      if (!ref) throw new TallyError('invalid_argument', 'tid or mid (the measurement id) is required', { reason: 'measurement_id_missing' });
      const property = await resolveFresh(deps, () => deps.credentials.resolvePublicId(ref));
      if (!property) throw new TallyError('not_found', `unknown property ${ref.slice(0, 64)}`, { reason: 'unknown_measurement_id' });
      const r = parsePixel(url.searchParams);
      await admitAndAccept(deps, 'pixel', 'reason' in r ? [] : [r], 'reason' in r ? [r] : [], property, ctx, { req, res, sender: 'browser' });
      sendGif(res);
    },
  },
];
