import { z } from 'zod';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { ErrorBodySchema } from '../infra/errors.js';
import type { IngestRoute } from './ingest-http.js';

/**
 * The ingest routes' OpenAPI entries. The protocol parsers are hand-written (each protocol's own
 * errors, dead letters instead of refusals), so the request schemas here describe the wire format
 * they read; the response schemas are exactly what the routes send (checked against live answers
 * in test/e2e/openapi.e2e.test.ts).
 */
const json = (schema: z.ZodType, description: string): ResponseConfig => ({ description, content: { 'application/json': { schema } } });

const params = z.record(z.string(), z.unknown()).meta({ description: 'Event parameters: string, number or boolean values (GA4: also `items`)' });

export const Ga4MpBodySchema = z
  .looseObject({
    client_id: z.string().optional(),
    app_instance_id: z.string().optional(),
    user_id: z.string().optional(),
    timestamp_micros: z.union([z.number().int(), z.string().regex(/^\d+$/)]).optional(),
    user_properties: z
      .record(z.string(), z.looseObject({ value: z.unknown().optional(), timestamp_micros: z.union([z.number().int(), z.string()]).optional() }))
      .optional(),
    user_data: z.record(z.string(), z.unknown()).optional(),
    consent: z.looseObject({ ad_user_data: z.enum(['GRANTED', 'DENIED']).optional(), ad_personalization: z.enum(['GRANTED', 'DENIED']).optional() }).optional(),
    non_personalized_ads: z.boolean().optional(),
    validation_behavior: z.enum(['RELAXED', 'ENFORCE_RECOMMENDATIONS']).optional(),
    events: z.array(z.looseObject({ name: z.string(), params: params.optional() })).max(25),
  })
  .meta({ id: 'Ga4MpRequest', description: 'GA4 Measurement Protocol body, any Content-Type' });

export const ValidationMessagesSchema = z
  .strictObject({
    validationMessages: z.array(z.strictObject({ fieldPath: z.string(), description: z.string(), validationCode: z.string() })),
  })
  .meta({ id: 'Ga4MpValidationResponse' });

export const NativeBatchSchema = z
  .strictObject({
    events: z
      .array(
        z.strictObject({
          name: z.string().max(100),
          event_id: z.string().max(256).optional(),
          client_id: z.string().max(256).optional(),
          user_id: z.string().max(256).optional(),
          session_id: z.union([z.string(), z.number()]).optional(),
          timestamp: z.number().int().optional().meta({ description: 'Epoch ms; at most 72 h late' }),
          url: z.string().optional(),
          referrer: z.string().optional(),
          title: z.string().optional(),
          user_agent: z.string().optional(),
          ip: z.string().optional(),
          language: z.string().optional(),
          screen: z.string().optional(),
          params: params.optional(),
          user_props: z.record(z.string(), z.unknown()).optional(),
          consent: z.record(z.string(), z.unknown()).optional(),
        }),
      )
      .min(1)
      .max(500),
  })
  .meta({ id: 'NativeBatch', description: 'At most 500 events or 1 MB; JSON or gzip. client_id or user_id is required per event.' });

export const NativeResultsSchema = z
  .strictObject({
    accepted: z.number().int(),
    rejected: z.number().int(),
    results: z.array(
      z.strictObject({
        index: z.number().int(),
        status: z.enum(['accepted', 'rejected']),
        event_id: z.string().optional(),
        reason: z.string().optional(),
        detail: z.string().optional(),
      }),
    ),
  })
  .meta({ id: 'NativeResults' });

const ok = (description: string): Record<number, ResponseConfig> => ({ 200: { description } });
const segment = (call: string) => ({
  summary: `Segment HTTP Tracking API ${call}: write key = a Tally ingest key, by Basic auth (key as user) or "writeKey" in the body; messageId dedups; 32 KB per message.`,
  success: { 200: json(z.strictObject({ success: z.literal(true) }).meta({ id: 'SegmentSuccess' }), 'Accepted') },
});
const PostHogErrorSchema = z
  .strictObject({ type: z.string(), code: z.string(), detail: z.string(), attr: z.null() })
  .meta({ id: 'PostHogError', description: "PostHog's own error shape" });
const posthog: IngestDoc = {
  summary:
    'PostHog capture: api_key/token = a Tally ingest key; JSON, gzip (header, ?compression=gzip-js or magic bytes), base64 and form-encoded bodies; uuid dedups.',
  success: { 200: json(z.strictObject({ status: z.literal(1) }).meta({ id: 'PostHogSuccess' }), 'Accepted') },
  errors: { 400: json(PostHogErrorSchema, 'Malformed capture'), 401: json(PostHogErrorSchema, 'Missing or unknown project API key (ingest key)') },
};

export interface IngestDoc {
  summary: string;
  security?: 'ingestKey';
  query?: z.ZodObject;
  body?: z.ZodType;
  success: Record<number, ResponseConfig>;
  /** Where the protocol answers errors in its own shape instead of Tally's. */
  errors?: Record<number, ResponseConfig>;
}

/** Per ingest path: what it is. A protocol route without an entry here fails openapi.test.ts. */
export const INGEST_DOCS: Record<string, IngestDoc> = {
  '/mp/collect': {
    summary: 'GA4 Measurement Protocol. Refused events are dead-lettered with a reason.',
    query: z.object({ measurement_id: z.string().optional(), firebase_app_id: z.string().optional(), api_secret: z.string() }),
    body: Ga4MpBodySchema,
    success: { 204: { description: 'Accepted: every valid event is durable in the event log' } },
  },
  '/debug/mp/collect': {
    summary: "GA4 Measurement Protocol validation server: same body, nothing stored, GA4's validationMessages answer.",
    body: Ga4MpBodySchema,
    success: { 200: json(ValidationMessagesSchema, 'Validation messages (empty when valid)') },
  },
  '/v1/collect': {
    summary: 'Native batch with per-event results.',
    security: 'ingestKey',
    body: NativeBatchSchema,
    success: { 200: json(NativeResultsSchema, 'Per-event results') },
  },
  '/g/collect': {
    summary: 'gtag.js GA4 hits (v=2): shared parameters in the query string, one event per body line; tid selects the property.',
    success: { 204: { description: 'Accepted' } },
  },
  ...Object.fromEntries(
    Object.entries({ track: 't', page: 'p', screen: 's', identify: 'i', group: 'g', alias: 'a', batch: 'b' }).flatMap(([long, short]) => [
      [`/v1/${long}`, segment(long)],
      [`/v1/${short}`, segment(`${long} (short browser path)`)],
    ]),
  ),
  '/com.snowplowanalytics.snowplow/tp2': {
    summary:
      'Snowplow tracker protocol POST (payload_data); aid = the site id or measurement id (never the numeric property id), or a Bearer ingest key. Always 200, invalid payloads dead-lettered.',
    success: ok('ok'),
  },
  '/i': { summary: 'Snowplow tracker protocol GET (query string).', success: ok('1x1 GIF') },
  '/ice.png': { summary: 'Snowplow tracker protocol GET, legacy path.', success: ok('1x1 GIF') },
  '/i.gif': {
    summary: 'Pixel for e-mail opens and pages without JavaScript: tid/mid, en, cid, dl, dr, dt, ep.*.',
    success: ok('1x1 transparent GIF, no-store'),
  },
  '/api/event': {
    summary: 'Plausible Events API: the domain selects the property; cookieless visitor id.',
    success: { 202: { description: 'ok' } },
    errors: { 400: { description: "Plausible's own error body" } },
  },
  '/api/send': {
    summary: 'Umami send: payload.website = the site id or measurement id.',
    success: ok('Umami cache token'),
    errors: { 400: { description: "Umami's own error body" } },
  },
  '/api/batch': { summary: 'Umami batch.', success: ok('Umami batch answer'), errors: { 400: { description: "Umami's own error body" } } },
  ...Object.fromEntries(
    ['/e', '/e/', '/i/v0/e', '/i/v0/e/', '/capture', '/capture/', '/track', '/track/', '/engage', '/engage/', '/batch', '/batch/'].map((p) => [p, posthog]),
  ),
  '/tally.js': { summary: 'The tally.js tracker script (under 2 KB gzipped).', success: ok('application/javascript') },
  '/t/collect': {
    summary:
      'tally.js events: ?mid=<measurement id>, text/plain JSON batches (sendBeacon); cookieless visitor id unless the site opts into its first-party cookie.',
    success: { 204: { description: 'Accepted' } },
  },
};

const errors: Record<number, ResponseConfig> = {
  400: json(ErrorBodySchema, 'Malformed request (machine-readable `reason`)'),
  401: json(ErrorBodySchema, 'Missing or unknown credentials'),
  403: json(ErrorBodySchema, "Credentials of another tenant's property"),
  404: json(ErrorBodySchema, 'Unknown measurement id or property'),
  405: json(ErrorBodySchema, 'Method not allowed'),
  413: json(ErrorBodySchema, 'Body too large'),
  429: json(ErrorBodySchema, 'Rate limit or monthly quota; see Retry-After'),
  503: json(ErrorBodySchema, 'The event log cannot make events durable (nothing was acknowledged), or the collector is draining'),
};

/** One OpenAPI path entry per ingest route and method, plus its CORS preflight. */
export function ingestApi(routes: IngestRoute[]): RouteConfig[] {
  return routes.flatMap((r) => {
    const doc = INGEST_DOCS[r.path] ?? { summary: r.path, success: ok('Accepted') };
    const tags = [`ingest${r.protocol ? `: ${r.protocol}` : ''}`];
    return [
      ...r.methods.map((m): RouteConfig => ({
        method: m.toLowerCase() as 'get' | 'post',
        path: r.path,
        tags,
        summary: doc.summary,
        security: doc.security ? [{ [doc.security]: [] }] : [],
        request: {
          ...(doc.query ? { query: doc.query } : {}),
          ...(doc.body && m === 'POST' ? { body: { required: true, content: { 'application/json': { schema: doc.body } } } } : {}),
        },
        responses: { ...doc.success, ...errors, ...doc.errors },
      })),
      { method: 'options', path: r.path, tags, summary: 'CORS preflight', security: [], responses: { 204: { description: 'Allowed' } } },
    ];
  });
}
