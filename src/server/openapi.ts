import type { IngestRoute } from '../ingest/ingest-http.js';
import { accountsOpenApiPaths, SESSION_SECURITY_SCHEME } from '../tenancy/accounts.openapi.js';

/**
 * The OpenAPI 3.1 document of every HTTP API Tally serves: ingest (one entry per protocol route),
 * the GA4-compatible report API, and the operator API. Served at GET /openapi.json.
 */
type Op = Record<string, unknown>;

const errorBody = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'string' }, reason: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'reason', 'message'] } },
};
const googleError = {
  type: 'object',
  properties: { error: { type: 'object', properties: { code: { type: 'integer' }, message: { type: 'string' }, status: { type: 'string' } } } },
};
const ingestErrors = {
  '400': { description: 'Malformed request (machine-readable `reason`)', content: { 'application/json': { schema: errorBody } } },
  '401': { description: 'Missing or unknown credentials', content: { 'application/json': { schema: errorBody } } },
  '403': { description: "Credentials of another tenant's property", content: { 'application/json': { schema: errorBody } } },
  '413': { description: 'Body too large', content: { 'application/json': { schema: errorBody } } },
  '429': { description: 'Rate limit or monthly quota; see Retry-After', content: { 'application/json': { schema: errorBody } } },
  '503': { description: 'The event log cannot make events durable; nothing was acknowledged', content: { 'application/json': { schema: errorBody } } },
};

/** Per ingest path: what it is. A protocol route without an entry here fails openapi.test.ts. */
export const INGEST_DOCS: Record<string, { summary: string; security?: string; success: Record<string, unknown> }> = {
  '/mp/collect': {
    summary: 'GA4 Measurement Protocol. Query: measurement_id (or firebase_app_id) and api_secret. Body: GA4 MP JSON, any Content-Type. Refused events are dead-lettered with a reason.',
    success: { '204': { description: 'Accepted: every valid event is durable in the event log' } },
  },
  '/debug/mp/collect': {
    summary: "GA4 Measurement Protocol validation server: same body, nothing stored, GA4's validationMessages answer.",
    success: {
      '200': {
        description: 'Validation messages (empty when valid)',
        content: { 'application/json': { schema: { type: 'object', properties: { validationMessages: { type: 'array', items: { type: 'object', properties: { fieldPath: { type: 'string' }, description: { type: 'string' }, validationCode: { type: 'string' } } } } } } } },
      },
    },
  },
  '/v1/collect': {
    summary: 'Native batch: {"events":[{name, client_id|user_id, event_id?, timestamp?, url?, referrer?, title?, user_agent?, ip?, language?, screen?, params?, user_props?, consent?}]}; at most 500 events or 1 MB; JSON or gzip.',
    security: 'ingestKey',
    success: {
      '200': {
        description: 'Per-event results',
        content: { 'application/json': { schema: { type: 'object', properties: { accepted: { type: 'integer' }, rejected: { type: 'integer' }, results: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, status: { enum: ['accepted', 'rejected'] }, event_id: { type: 'string' }, reason: { type: 'string' }, detail: { type: 'string' } } } } } } } },
      },
    },
  },
};

const ok = (description: string) => ({ '200': { description } });
const segment = (call: string) => ({
  summary: `Segment HTTP Tracking API ${call}: write key = a Tally ingest key, by Basic auth (key as user) or "writeKey" in the body; messageId dedups; 32 KB per message.`,
  success: ok('{"success":true}'),
});
const posthog = {
  summary: 'PostHog capture: api_key/token = a Tally ingest key; JSON, gzip (header, ?compression=gzip-js or magic bytes), base64 and form-encoded bodies; uuid dedups.',
  success: ok('{"status":1}'),
};
Object.assign(INGEST_DOCS, {
  '/g/collect': { summary: 'gtag.js GA4 hits (v=2): shared parameters in the query string, one event per body line; tid selects the property.', success: { '204': { description: 'Accepted' } } },
  ...Object.fromEntries(
    Object.entries({ track: 't', page: 'p', screen: 's', identify: 'i', group: 'g', alias: 'a', batch: 'b' }).flatMap(([long, short]) => [
      [`/v1/${long}`, segment(long)],
      [`/v1/${short}`, segment(`${long} (short browser path)`)],
    ]),
  ),
  '/com.snowplowanalytics.snowplow/tp2': { summary: 'Snowplow tracker protocol POST (payload_data); aid = the site id or measurement id (never the numeric property id), or a Bearer ingest key. Always 200, invalid payloads dead-lettered.', success: ok('ok') },
  '/i': { summary: 'Snowplow tracker protocol GET (query string).', success: ok('1x1 GIF') },
  '/ice.png': { summary: 'Snowplow tracker protocol GET, legacy path.', success: ok('1x1 GIF') },
  '/i.gif': { summary: 'Pixel for e-mail opens and pages without JavaScript: tid/mid, en, cid, dl, dr, dt, ep.*.', success: ok('1x1 transparent GIF, no-store') },
  '/api/event': { summary: 'Plausible Events API: the domain selects the property; cookieless visitor id.', success: { '202': { description: 'ok' } } },
  '/api/send': { summary: 'Umami send: payload.website = the site id or measurement id.', success: ok('Umami cache token') },
  '/api/batch': { summary: 'Umami batch.', success: ok('Umami batch answer') },
  ...Object.fromEntries(['/e', '/e/', '/i/v0/e', '/i/v0/e/', '/capture', '/capture/', '/track', '/track/', '/engage', '/engage/', '/batch', '/batch/'].map((p) => [p, posthog])),
  '/tally.js': { summary: 'The tally.js tracker script (under 2 KB gzipped).', success: ok('application/javascript') },
  '/t/collect': { summary: "tally.js events: ?mid=<measurement id>, text/plain JSON batches (sendBeacon); cookieless visitor id unless the site opts into its first-party cookie.", success: { '204': { description: 'Accepted' } } },
});

export function registerIngestDocs(docs: typeof INGEST_DOCS): void {
  Object.assign(INGEST_DOCS, docs);
}

export function openApiDocument(routes: IngestRoute[]): Record<string, unknown> {
  const paths: Record<string, Record<string, Op>> = {};
  for (const r of routes) {
    const doc = INGEST_DOCS[r.path];
    const item: Record<string, Op> = {};
    for (const m of r.methods) {
      item[m.toLowerCase()] = {
        tags: ['ingest'],
        summary: doc?.summary ?? r.path,
        ...(doc?.security ? { security: [{ [doc.security]: [] }] } : { security: [] }),
        responses: { ...(doc?.success ?? { '200': { description: 'Accepted' } }), ...ingestErrors },
      };
    }
    item.options = { tags: ['ingest'], summary: 'CORS preflight', security: [], responses: { '204': { description: 'Allowed' } } };
    paths[r.path] = item;
  }
  paths['/healthz'] = { get: { tags: ['operations'], summary: 'Liveness', security: [], responses: { '200': { description: 'Up' } } } };
  paths['/readyz'] = { get: { tags: ['operations'], summary: 'Readiness (503 while draining)', security: [], responses: { '200': { description: 'Ready' }, '503': { description: 'Draining' } } } };
  const reportErrors = {
    '400': { description: 'INVALID_ARGUMENT', content: { 'application/json': { schema: googleError } } },
    '401': { description: 'UNAUTHENTICATED', content: { 'application/json': { schema: googleError } } },
    '403': { description: 'PERMISSION_DENIED', content: { 'application/json': { schema: googleError } } },
  };
  const property = { name: 'propertyId', in: 'path', required: true, schema: { type: 'string', pattern: '^\\d+$' } };
  for (const method of ['runReport', 'batchRunReports', 'checkCompatibility']) {
    paths[`/v1beta/properties/{propertyId}:${method}`] = {
      post: {
        tags: ['reports'],
        summary: `GA4 Data API v1beta ${method}: request and response exactly in GA4's JSON shape (https://developers.google.com/analytics/devguides/reporting/data/v1/rest). Accepts $alt=json;enum-encoding=int.`,
        security: [{ readKey: [] }],
        parameters: [property, { name: '$alt', in: 'query', required: false, schema: { type: 'string', example: 'json;enum-encoding=int' } }],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object' } } } },
        responses: { '200': { description: `${method} response`, content: { 'application/json': { schema: { type: 'object' } } } }, ...reportErrors },
      },
    };
  }
  paths['/v1beta/properties/{propertyId}/metadata'] = {
    get: { tags: ['reports'], summary: "Dimensions and metrics in GA4's metadata shape", security: [{ readKey: [] }], parameters: [property], responses: { '200': { description: 'Metadata' }, ...reportErrors } },
  };
  paths['/internal/v1/tenants'] = {
    post: {
      tags: ['operator'],
      summary: 'Create an organisation, owner, property and keys (shown once)',
      security: [{ adminToken: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'email', 'domain'], properties: { name: { type: 'string' }, email: { type: 'string', format: 'email' }, domain: { type: 'string' }, timeZone: { type: 'string' }, planId: { enum: ['free', 'growth', 'scale'] } } } } } },
      responses: { '201': { description: 'organizationId, propertyId, measurementId, apiSecret, ingestKey, readKey' }, '400': { description: 'Invalid body' }, '401': { description: 'No admin token' } },
    },
  };
  paths['/internal/v1/jobs/run'] = {
    post: {
      tags: ['operator'],
      summary: 'Run a job now (transform | load | pipeline); streams NDJSON progress lines, then the result',
      security: [{ adminToken: [] }],
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name'], properties: { name: { type: 'string' }, propertyId: { type: 'string' }, full: { type: 'boolean' } } } } } },
      responses: { '200': { description: 'application/x-ndjson stream' } },
    },
  };
  Object.assign(paths, accountsOpenApiPaths());
  // the report routes also take a member's session (plus X-CSRF-Token on POST)
  for (const [p, item] of Object.entries(paths)) if (p.startsWith('/v1beta/')) for (const op of Object.values(item)) (op as { security: unknown[] }).security = [{ readKey: [] }, { session: [] }];
  return {
    openapi: '3.1.0',
    info: { title: 'Tally', version: '0.1.0', description: 'Multi-tenant, GA4-compatible analytics: ingest, reports, operations.' },
    components: {
      securitySchemes: {
        ingestKey: { type: 'http', scheme: 'bearer', description: 'An ingest key (tk_ing_…)' },
        readKey: { type: 'http', scheme: 'bearer', description: 'A read key (tk_read_…)' },
        adminToken: { type: 'http', scheme: 'bearer', description: 'The local operator token in $TALLY_DATA_DIR/admin-token' },
        session: SESSION_SECURITY_SCHEME,
      },
    },
    paths,
  };
}
