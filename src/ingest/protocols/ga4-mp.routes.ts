import { isTallyError, TallyError } from '../../infra/errors.js';
import { admitAndAccept, send, type IngestRoute } from '../ingest-http.js';
import { readBody } from '../http-body.js';
import { parseGa4Mp, parseGa4MpBody } from './ga4-mp.parser.js';
import { GA4_MP_LIMITS } from './ga4-mp.limits.js';

/** GA4 Measurement Protocol: `/mp/collect` (2xx for a well-formed request) and `/debug/mp/collect`. */
export const ga4Routes: IngestRoute[] = [
  {
    path: '/mp/collect',
    methods: ['POST'],
    async handle(deps, req, res, url, ctx) {
      const measurementId = url.searchParams.get('measurement_id') ?? url.searchParams.get('firebase_app_id');
      const apiSecret = url.searchParams.get('api_secret');
      if (!measurementId) throw new TallyError('invalid_argument', 'measurement_id is required', { reason: 'measurement_id_missing' });
      if (!apiSecret) throw new TallyError('unauthenticated', 'api_secret is required', { reason: 'api_secret_missing' });
      const resolved = deps.credentials.resolveMeasurement(measurementId, apiSecret);
      if ('error' in resolved) {
        if (resolved.error === 'unknown_measurement_id') {
          throw new TallyError('not_found', `unknown measurement_id ${measurementId}`, { reason: 'unknown_measurement_id' });
        }
        throw new TallyError('permission_denied', 'api_secret does not belong to this measurement_id', { reason: 'bad_api_secret' });
      }
      const body = parseGa4MpBody(await readBody(req, GA4_MP_LIMITS.maxBodyBytes));
      const parsed = parseGa4Mp(body, { receivedAt: ctx.receivedAt });
      await admitAndAccept(deps, 'ga4mp', parsed.events, parsed.refused, resolved.property, ctx);
      res.writeHead(204).end();
    },
  },
  {
    path: '/debug/mp/collect',
    methods: ['POST'],
    async handle(_deps, req, res, _url, ctx) {
      let messages;
      try {
        const body = parseGa4MpBody(await readBody(req, GA4_MP_LIMITS.maxBodyBytes));
        messages = parseGa4Mp(body, { receivedAt: ctx.receivedAt }).validationMessages;
      } catch (err) {
        if (!isTallyError(err) || err.code === 'internal') throw err;
        messages = [{ fieldPath: '', description: err.message, validationCode: 'VALUE_INVALID' }];
      }
      send(res, 200, { validationMessages: messages });
    },
  },
];
