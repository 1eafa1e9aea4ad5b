import { TallyError } from '../../infra/errors.js';
import { admitAndAccept, resolveFresh, type CollectorDeps, type IngestRoute } from '../ingest-http.js';
import { readBody } from '../http-body.js';
import type { TenantProperty } from '../../domain/tenant-property.js';
import { GTAG_LIMITS, gtagHits, gtagMeasurementId, parseGtag, type HitParams } from './gtag.parser.js';

/**
 * gtag.js pointed at Tally (`server_container_url` / `transport_url`): `GET|POST /g/collect`.
 * The measurement id `tid` selects the property; answered 204 with no body, as Google does,
 * with refused hits dead-lettered.
 */
export const gtagRoutes: IngestRoute[] = [
  {
    path: '/g/collect',
    methods: ['GET', 'POST'],
    async handle(deps, req, res, url, ctx) {
      const body = req.method === 'POST' ? (await readBody(req, GTAG_LIMITS.maxBodyBytes)).toString('utf8') : '';
      const hits = gtagHits(url.searchParams, body);
      const { property, measurementId } = await resolveTid(deps, hits);
      const parsed = parseGtag(hits, measurementId);
      await admitAndAccept(deps, 'gtag', parsed.events, parsed.refused, property, ctx, { req, res, sender: 'browser' });
      res.writeHead(204, { 'cache-control': 'no-cache, no-store, must-revalidate' }).end();
    },
  },
];

async function resolveTid(deps: CollectorDeps, hits: HitParams[]): Promise<{ property: TenantProperty; measurementId: string }> {
  const measurementId = gtagMeasurementId(hits);
  if (!measurementId) throw new TallyError('invalid_argument', 'tid (the measurement id) is required', { reason: 'measurement_id_missing' });
  const property = await resolveFresh(deps, () => deps.credentials.resolvePublicId(measurementId));
  if (!property) throw new TallyError('not_found', `unknown measurement id ${measurementId.slice(0, 64)}`, { reason: 'unknown_measurement_id' });
  return { property, measurementId };
}
