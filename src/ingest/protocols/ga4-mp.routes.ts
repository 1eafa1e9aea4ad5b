import type { IncomingMessage } from 'node:http';
import { httpStatusFor, isTallyError, TallyError } from '../../infra/errors.js';
import type { TenantProperty } from '../../domain/tenant-property.js';
import { admitAndAccept, resolveFresh, send, type CollectorDeps, type IngestRoute } from '../ingest-http.js';
import { readBody } from '../http-body.js';
import type { ValidationMessage } from './ga4-mp.findings.js';
import { parseGa4Mp, parseGa4MpBody } from './ga4-mp.parser.js';
import { GA4_MP_LIMITS } from './ga4-mp.limits.js';
import type { IngestUrl } from '../request-url.js';

type Credentials = { property: TenantProperty } | { error: TallyError };

/** The property of `measurement_id` + `api_secret`, after at most one refresh of the credential cache on a miss. */
async function resolveCredentials(deps: CollectorDeps, url: IngestUrl): Promise<Credentials> {
  const measurementId = url.searchParams.get('measurement_id') ?? url.searchParams.get('firebase_app_id');
  const apiSecret = url.searchParams.get('api_secret');
  if (!measurementId) return { error: new TallyError('invalid_argument', 'measurement_id is required', { reason: 'measurement_id_missing' }) };
  if (!apiSecret) return { error: new TallyError('unauthenticated', 'api_secret is required', { reason: 'api_secret_missing' }) };
  const resolved = await resolveFresh(deps, () => deps.credentials.resolveMeasurement(measurementId, apiSecret));
  if (!('error' in resolved)) return resolved;
  if (resolved.error === 'unknown_measurement_id') {
    return { error: new TallyError('not_found', `unknown measurement_id ${measurementId.slice(0, 64)}`, { reason: 'unknown_measurement_id' }) };
  }
  return { error: new TallyError('permission_denied', 'api_secret does not belong to this measurement_id', { reason: 'bad_api_secret' }) };
}

/**
 * GA4 Measurement Protocol: `/mp/collect` (2xx for a well-formed request; over the property's rate
 * the events are kept in the dead-letter output as `rate_limited`, as GA4's clients never retry)
 * and `/debug/mp/collect`, which checks the same credentials and says what `/mp/collect` would do.
 */
export const ga4Routes: IngestRoute[] = [
  {
    path: '/mp/collect',
    methods: ['POST'],
    async handle(deps, req, res, url, ctx) {
      const resolved = await resolveCredentials(deps, url);
      if ('error' in resolved) throw resolved.error;
      const body = parseGa4MpBody(await readBody(req, GA4_MP_LIMITS.maxBodyBytes));
      const parsed = parseGa4Mp(body, { receivedAt: ctx.receivedAt });
      await admitAndAccept(deps, 'ga4mp', parsed.events, parsed.refused, resolved.property, ctx, { req, res, sender: 'keyed-no-retry' });
      res.writeHead(204).end();
    },
  },
  {
    path: '/debug/mp/collect',
    methods: ['POST'],
    async handle(deps, req, res, url, ctx) {
      send(res, 200, { validationMessages: await debugMessages(deps, req, url, ctx.receivedAt) });
    },
  },
];

async function debugMessages(deps: CollectorDeps, req: IncomingMessage, url: IngestUrl, receivedAt: number): Promise<ValidationMessage[]> {
  const messages: ValidationMessage[] = [];
  const resolved = await resolveCredentials(deps, url);
  if ('error' in resolved) {
    const reason = String(resolved.error.details.reason);
    const fieldPath = reason === 'measurement_id_missing' || reason === 'unknown_measurement_id' ? 'measurement_id' : 'api_secret';
    const code = reason.endsWith('_missing') ? 'VALUE_REQUIRED' : 'VALUE_INVALID';
    messages.push({
      fieldPath,
      description: `${resolved.error.message}: /mp/collect refuses this request (HTTP ${httpStatusFor(resolved.error.code)}).`,
      validationCode: code,
    });
  }
  let parsed;
  try {
    parsed = parseGa4Mp(parseGa4MpBody(await readBody(req, GA4_MP_LIMITS.maxBodyBytes)), { receivedAt });
  } catch (err) {
    if (!isTallyError(err) || err.code === 'internal') throw err;
    messages.push({ fieldPath: '', description: err.message, validationCode: 'VALUE_INVALID' });
    return messages;
  }
  messages.push(...parsed.validationMessages);
  const seen = new Set<string>();
  for (const n of parsed.notices) {
    if (seen.has(n.fieldPath + n.description)) continue;
    seen.add(n.fieldPath + n.description);
    messages.push(n);
  }
  if ('property' in resolved && parsed.events.length && !(await deps.ingest.wouldAdmit(resolved.property, parsed.events.length))) {
    messages.push({
      fieldPath: 'events',
      description:
        `The property is over its rate (${resolved.property.rateLimitPerSecond} events per second): /mp/collect would answer 2xx ` +
        'but keep these events in the dead-letter output (reason rate_limited) instead of counting them.',
      validationCode: 'EXCEEDED_MAX_ENTITIES',
    });
  }
  return messages;
}
