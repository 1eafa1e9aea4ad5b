import fc from 'fast-check';
import { describe, it } from 'vitest';
import { isTallyError } from '../../infra/errors.js';
import { parseGa4Mp, parseGa4MpBody } from './ga4-mp.parser.js';
import { gtagHits, parseGtag } from './gtag.parser.js';
import { parseNative } from './native.parser.js';
import { parsePixel } from './pixel.parser.js';
import { parsePlausible } from './plausible.parser.js';
import { decodePostHogBody, parsePostHog } from './posthog.parser.js';
import { parseSegment, SEGMENT_PATHS } from './segment.parser.js';
import { parseSnowplowGet, parseSnowplowPost } from './snowplow.parser.js';
import { parseUmami } from './umami.parser.js';

/**
 * Issue 9 §5: every ingest parser, fed anything, refuses with a TallyError (a 4xx) or answers;
 * it never throws anything else (which the collector would answer 500). Bounded runs: this is
 * part of `npm test`.
 */
const RUNS = 300;
const ctx = { receivedAt: Date.UTC(2024, 2, 1) };

function onlyTallyErrors(fn: () => unknown): boolean {
  try {
    fn();
    return true;
  } catch (err) {
    if (isTallyError(err)) return true;
    throw err;
  }
}

/** Arbitrary JSON, plus JSON shaped like each protocol's body, with hostile values in it. */
const hostile = fc.oneof(
  fc.string(),
  fc.constantFrom('', '\u0000', '\ud800', 'NaN', '-1', '1e309', '9'.repeat(40), '__proto__', 'constructor', 'x'.repeat(10_000)),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.MAX_SAFE_INTEGER + 2, -0, 1e308, null, true, [], {}),
);
const json = fc.jsonValue({ maxDepth: 4 });
const shaped = (keys: string[]) =>
  fc.oneof(
    fc.dictionary(
      fc.constantFrom(...keys),
      fc.oneof(hostile, json, fc.array(fc.dictionary(fc.constantFrom(...keys), fc.oneof(hostile, json)), { maxLength: 3 })),
      { maxKeys: keys.length },
    ),
    fc.array(fc.dictionary(fc.constantFrom(...keys), fc.oneof(hostile, json)), { maxLength: 3 }),
  );
// through JSON text, as the collector receives it (fast-check also makes null-prototype objects, which JSON.parse never does)
const anyBody = (keys: string[]) => fc.oneof(json, shaped(keys)).map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown);

const MP = [
  'client_id',
  'user_id',
  'app_instance_id',
  'timestamp_micros',
  'events',
  'name',
  'params',
  'user_properties',
  'consent',
  'user_data',
  'non_personalized_ads',
  'value',
  'session_id',
  'engagement_time_msec',
  'page_location',
];
const NATIVE = ['events', 'name', 'client_id', 'user_id', 'ts', 'timestamp', 'params', 'event_id', 'session_id', 'page', 'url', 'referrer'];
const SEGMENT = [
  'batch',
  'type',
  'event',
  'name',
  'userId',
  'anonymousId',
  'messageId',
  'timestamp',
  'sentAt',
  'properties',
  'traits',
  'context',
  'previousId',
  'groupId',
  'writeKey',
];
const POSTHOG = ['batch', 'api_key', 'event', 'distinct_id', 'properties', 'timestamp', 'uuid', '$set', 'offset', 'sent_at', 'data'];
const UMAMI = ['type', 'payload', 'website', 'hostname', 'url', 'referrer', 'name', 'data', 'screen', 'language', 'title', 'id'];
const PLAUSIBLE = ['n', 'name', 'u', 'url', 'd', 'domain', 'r', 'referrer', 'p', 'props', 'm', 'meta', 'h', 'revenue', 'interactive'];
const SNOWPLOW = [
  'schema',
  'data',
  'e',
  'aid',
  'duid',
  'uid',
  'eid',
  'dtm',
  'stm',
  'url',
  'page',
  'refr',
  'se_ca',
  'se_ac',
  'co',
  'cx',
  'ue_pr',
  'ue_px',
  'tv',
  'p',
  'sid',
  'vid',
];
const QUERY_KEYS = [
  'v',
  'tid',
  'cid',
  'en',
  'dl',
  'dr',
  'dt',
  'sid',
  'sct',
  '_et',
  'ep.x',
  'epn.v',
  'up.u',
  'uid',
  '_p',
  'seg',
  'mid',
  'eid',
  'e',
  'aid',
  'dtm',
  'cx',
  'ue_px',
  'url',
  'ts',
];
const query = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 8 })),
      fc.oneof(fc.string(), fc.constantFrom('', '%', '\ud800', 'x'.repeat(5_000), '1e309', '-1')),
    ),
    { maxLength: 12 },
  )
  .map((pairs) => new URLSearchParams(pairs));

/** Every value `arb` generates, handed to `parse`, gives an answer or a TallyError. */
function answersOrRefuses<T>(arb: fc.Arbitrary<T>, parse: (value: T) => unknown): void {
  fc.assert(
    fc.property(arb, (value) => onlyTallyErrors(() => parse(value))),
    { numRuns: RUNS },
  );
}

describe('ingest parsers under fuzzing: a TallyError or an answer, never anything else', () => {
  it('GA4 Measurement Protocol', () => {
    answersOrRefuses(anyBody(MP), (b) => parseGa4Mp(b, ctx));
    answersOrRefuses(fc.uint8Array({ maxLength: 300 }), (b) => parseGa4Mp(parseGa4MpBody(Buffer.from(b)), ctx));
  });

  it('gtag and the pixel (query strings and line-separated bodies)', () => {
    answersOrRefuses(fc.tuple(query, fc.array(query, { maxLength: 3 }), fc.string()), ([q, lines, tid]) => {
      const hits = gtagHits(q, lines.map((l) => l.toString()).join('\n'));
      parseGtag(hits, tid);
      parsePixel(q);
    });
  });

  it('native', () => {
    answersOrRefuses(anyBody(NATIVE), (b) => parseNative(b, ctx));
  });

  it('Segment, every call', () => {
    const calls = [...new Set(Object.values(SEGMENT_PATHS))];
    answersOrRefuses(fc.tuple(anyBody(SEGMENT), fc.constantFrom(...calls)), ([b, call]) => parseSegment(b, call, ctx));
  });

  it('PostHog (decoded bodies and raw bytes)', () => {
    answersOrRefuses(fc.tuple(anyBody(POSTHOG), fc.boolean(), fc.option(fc.integer())), ([b, engage, sentAtMs]) =>
      parsePostHog(b, { ...ctx, engage, sentAtMs }),
    );
    answersOrRefuses(fc.tuple(fc.uint8Array({ maxLength: 300 }), query), ([b, q]) => parsePostHog(decodePostHogBody(Buffer.from(b), q, 100_000), ctx));
  });

  it('Umami and Plausible', () => {
    answersOrRefuses(anyBody(UMAMI), (b) => parseUmami(b, ctx));
    answersOrRefuses(anyBody(PLAUSIBLE), (b) => parsePlausible(b));
  });

  it('Snowplow (POST payloads and GET query strings)', () => {
    answersOrRefuses(anyBody(SNOWPLOW), (b) => parseSnowplowPost(b, ctx));
    answersOrRefuses(query, (q) => parseSnowplowGet(q, ctx));
  });
});
