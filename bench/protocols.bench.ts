import { parseGa4Mp, parseGa4MpBody } from '../src/ingest/protocols/ga4-mp.parser.js';
import { gtagHits, gtagMeasurementId, parseGtag } from '../src/ingest/protocols/gtag.parser.js';
import { parseNative } from '../src/ingest/protocols/native.parser.js';
import { parsePixel } from '../src/ingest/protocols/pixel.parser.js';
import { parseSegment } from '../src/ingest/protocols/segment.parser.js';
import { parseSnowplowGet, parseSnowplowPost } from '../src/ingest/protocols/snowplow.parser.js';
import { parsePlausible } from '../src/ingest/protocols/plausible.parser.js';
import { parseUmami } from '../src/ingest/protocols/umami.parser.js';
import { decodePostHogBody, parsePostHog } from '../src/ingest/protocols/posthog.parser.js';
import { parseTallyJs } from '../src/ingest/tracker/tally-js.parser.js';

/**
 * Events per second per protocol for parse + validate + map onto ParsedEvent, in process (no
 * HTTP, no log): the request bytes as they arrive -> events. One row per entry of PROTOCOL_CASES;
 * to add a protocol, append a case (its `prepare` builds one request, `parse` returns how many
 * events it accepted).
 *
 * Fair comparison: every batch case carries the same 25 events (name, ids, time, page URL, the
 * user agent where the protocol carries one, the same custom properties) in its own wire format,
 * as its tracker sends them; one-event-per-request protocols are compared with a native request of
 * one event (the per-request cost is theirs too). Work a case does beyond reading JSON and mapping
 * it is named in `extra`. The machine is shared, so the cases run in interleaved rounds and each
 * ratio is the median over rounds of the case against its baseline measured just before it.
 */

const SECONDS = Number(process.env.BENCH_PROTOCOL_SECONDS ?? 2);
const ROUNDS = 10;
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';
const BATCH = 25;
const NATIVE = 'native';
const NATIVE_ONE = 'native (1 event)';

export interface ProtocolCase {
  protocol: string;
  /** Events in the one request `parse` handles. */
  events: number;
  /** Work beyond reading the JSON (or query string) and mapping it, shown in the table. */
  extra?: string;
  /** Builds the request once; what `parse` receives on every iteration. */
  prepare: () => unknown;
  /** Parses one request from its raw form; returns the number of accepted events. */
  parse: (request: unknown, receivedAt: number) => number;
}

/** The content every case encodes: the i-th event of the batch. */
const pageUrl = (i: number) => `https://shop.example.com/products/${i}?utm_source=news&utm_medium=email`;
const isPage = (i: number) => i % 5 === 0;
const eventName = (i: number) => (isPage(i) ? 'page_view' : 'add_to_cart');
const props = (i: number) => ({ sku: `S${i}`, price: 9.99, quantity: 1 });
const eventId = (i: number) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
const eventTime = (i: number) => Date.now() - 1000 + i;
const range = (n: number) => Array.from({ length: n }, (_, i) => i);
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const snowplowEvent = (i: number, contexts: 'cx' | 'co') => {
  const ctx = {
    schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0',
    data: [{ schema: 'iglu:com.acme/product/jsonschema/1-0-0', data: props(i) }],
  };
  return {
    e: isPage(i) ? 'pv' : 'se',
    ...(isPage(i) ? {} : { se_ca: 'shop', se_ac: eventName(i) }),
    eid: eventId(i),
    tv: 'js-3.23.0',
    p: 'web',
    aid: 'G-BENCH',
    url: pageUrl(i),
    ua: UA,
    duid: 'c-1',
    sid: 's-1',
    dtm: String(eventTime(i)),
    stm: String(Date.now()),
    ...(contexts === 'cx' ? { cx: b64(ctx) } : { co: JSON.stringify(ctx) }),
  };
};
const snowplowBody = (contexts: 'cx' | 'co') =>
  json({ schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4', data: range(BATCH).map((i) => snowplowEvent(i, contexts)) });

const postHogBatch = () =>
  JSON.stringify({
    api_key: 'tk_ing_bench',
    sent_at: new Date().toISOString(),
    batch: range(BATCH).map((i) => ({
      uuid: eventId(i),
      event: isPage(i) ? '$pageview' : eventName(i),
      distinct_id: 'c-1',
      timestamp: new Date(eventTime(i)).toISOString(),
      properties: { $device_id: 'c-1', $current_url: pageUrl(i), $session_id: 's-1', $raw_user_agent: UA, ...props(i) },
    })),
  });

export const PROTOCOL_CASES: ProtocolCase[] = [
  {
    protocol: NATIVE,
    events: BATCH,
    prepare: () =>
      json({
        events: range(BATCH).map((i) => ({
          name: eventName(i),
          client_id: 'c-1',
          event_id: eventId(i),
          session_id: 's-1',
          timestamp: eventTime(i),
          url: pageUrl(i),
          user_agent: UA,
          params: props(i),
        })),
      }),
    parse: (req, receivedAt) => parseNative(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: NATIVE_ONE,
    events: 1,
    prepare: () =>
      json({
        events: [{ name: 'page_view', client_id: 'c-1', event_id: eventId(0), timestamp: eventTime(0), url: pageUrl(0), user_agent: UA, params: props(0) }],
      }),
    parse: (req, receivedAt) => parseNative(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'ga4mp',
    events: BATCH,
    extra: 'UTF-8 validation of the body',
    prepare: () =>
      json({
        client_id: 'c-1',
        user_agent: UA,
        events: range(BATCH).map((i) => ({
          name: eventName(i),
          timestamp_micros: eventTime(i) * 1000,
          params: { session_id: 's-1', page_location: pageUrl(i), engagement_time_msec: 1200, ...props(i) },
        })),
      }),
    parse: (req, receivedAt) => parseGa4Mp(parseGa4MpBody(req as Buffer), { receivedAt }).events.length,
  },
  {
    protocol: 'gtag',
    events: BATCH,
    extra: "urlencoded lines; the query's 17 shared parameters copied into every event",
    prepare: () => ({
      query: `v=2&tid=G-BENCH&gtm=45je&_p=1700000000123&cid=c-1&ul=en-us&sr=1920x1080&sid=1700000000&sct=2&seg=1&dl=${encodeURIComponent(pageUrl(0))}&dt=Home&_s=3`,
      body: Buffer.from(
        range(BATCH)
          .map((i) => `en=${eventName(i)}&_et=1200&ep.sku=S${i}&epn.price=9.99&epn.quantity=1`)
          .join('\n'),
      ),
    }),
    parse: (req) => {
      const { query, body } = req as { query: string; body: Buffer };
      const hits = gtagHits(new URLSearchParams(query), body.toString('utf8'));
      return parseGtag(hits, gtagMeasurementId(hits)!).events.length;
    },
  },
  {
    protocol: 'segment',
    events: BATCH,
    prepare: () =>
      json({
        writeKey: 'k',
        sentAt: new Date().toISOString(),
        batch: range(BATCH).map((i) => ({
          type: isPage(i) ? 'page' : 'track',
          event: eventName(i),
          anonymousId: 'c-1',
          messageId: eventId(i),
          timestamp: new Date(eventTime(i)).toISOString(),
          properties: props(i),
          context: { userAgent: UA, library: { name: '@segment/analytics-node', version: '3.1.0' }, page: { url: pageUrl(i) } },
        })),
      }),
    parse: (req, receivedAt) => parseSegment(JSON.parse((req as Buffer).toString('utf8')), 'batch', { receivedAt }).events.length,
  },
  {
    protocol: 'snowplow (cx)',
    events: BATCH,
    extra: "base64 + JSON of each event's contexts (the JS tracker's default)",
    prepare: () => snowplowBody('cx'),
    parse: (req, receivedAt) => parseSnowplowPost(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'snowplow (co)',
    events: BATCH,
    extra: "JSON of each event's contexts (a string inside the JSON)",
    prepare: () => snowplowBody('co'),
    parse: (req, receivedAt) => parseSnowplowPost(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'posthog (JSON)',
    events: BATCH,
    prepare: () => Buffer.from(postHogBatch()),
    parse: (req, receivedAt) => parsePostHog(decodePostHogBody(req as Buffer, new URLSearchParams(), 20 * 1024 * 1024), { receivedAt }).events.length,
  },
  {
    protocol: 'posthog (base64 form)',
    events: BATCH,
    extra: 'URL-decoding + base64-decoding the whole body (posthog-js without gzip)',
    prepare: () => Buffer.from(`data=${encodeURIComponent(Buffer.from(postHogBatch()).toString('base64'))}&compression=base64`),
    parse: (req, receivedAt) => parsePostHog(decodePostHogBody(req as Buffer, new URLSearchParams(), 20 * 1024 * 1024), { receivedAt }).events.length,
  },
  {
    protocol: 'tallyjs',
    events: BATCH,
    prepare: () =>
      json({
        l: 'en-US',
        s: '1920x1080',
        st: Date.now(),
        e: range(BATCH).map((i) => ({ n: eventName(i), u: pageUrl(i), r: 'https://www.google.com/', t: 'P', ts: eventTime(i), p: props(i) })),
      }),
    parse: (req, receivedAt) => parseTallyJs(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'pixel',
    events: 1,
    prepare: () => `tid=G-BENCH&cid=c-1&en=page_view&eid=${eventId(0)}&dl=${encodeURIComponent(pageUrl(0))}&ep.sku=S0&epn.price=9.99&epn.quantity=1`,
    parse: (req) => ('reason' in parsePixel(new URLSearchParams(req as string)) ? 0 : 1),
  },
  {
    protocol: 'snowplow GET',
    events: 1,
    prepare: () =>
      new URLSearchParams({
        e: 'pv',
        eid: eventId(0),
        tv: 'js-3.23.0',
        p: 'web',
        aid: 'G-BENCH',
        url: pageUrl(0),
        duid: 'c-1',
        sid: 's-1',
        dtm: String(eventTime(0)),
      }).toString(),
    parse: (req, receivedAt) => parseSnowplowGet(new URLSearchParams(req as string), { receivedAt }).events.length,
  },
  {
    protocol: 'plausible',
    events: 1,
    extra: 'URL parse of the page',
    prepare: () =>
      json({ n: 'pageview', u: pageUrl(0), d: 'shop.example.com', r: 'https://www.google.com/', w: 1280, p: { sku: 'S0', price: '9.99', quantity: '1' } }),
    parse: (req) => (parsePlausible(JSON.parse((req as Buffer).toString('utf8'))).ok ? 1 : 0),
  },
  {
    protocol: 'umami',
    events: 1,
    extra: 'URL resolution of the path',
    prepare: () =>
      json({
        type: 'event',
        payload: {
          website: 'G-BENCH',
          hostname: 'shop.example.com',
          url: '/products/0?utm_source=news&utm_medium=email',
          title: 'P',
          language: 'en-US',
          screen: '1920x1080',
          referrer: 'https://www.google.com/',
          data: props(0),
        },
      }),
    parse: (req, receivedAt) => (parseUmami(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).ok ? 1 : 0),
  },
];

/** One-event requests against one native event (native's own against its batch, the per-request cost). */
const baselineOf = (c: ProtocolCase) => (c.events === 1 && c.protocol !== NATIVE_ONE ? NATIVE_ONE : NATIVE);

/** Events per second of one case over `seconds`. */
function measure(c: ProtocolCase, req: unknown, seconds: number): number {
  let requests = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(seconds * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 10; i++) c.parse(req, Date.now());
    requests += 10;
    now = process.hrtime.bigint();
  }
  return (requests * c.events) / (Number(now - start) / 1e9);
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

export async function run() {
  const requests = new Map<ProtocolCase, unknown>();
  for (const c of PROTOCOL_CASES) {
    const req = c.prepare();
    const accepted = c.parse(req, Date.now());
    if (accepted !== c.events) throw new Error(`${c.protocol}: the bench request parses to ${accepted} events, expected ${c.events}`);
    requests.set(c, req);
    measure(c, req, 0.1);
  }
  const byName = new Map(PROTOCOL_CASES.map((c) => [c.protocol, c]));
  const slice = SECONDS / ROUNDS;
  const rate = new Map<ProtocolCase, number[]>(PROTOCOL_CASES.map((c) => [c, []]));
  const ratio = new Map<ProtocolCase, number[]>(PROTOCOL_CASES.map((c) => [c, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const c of PROTOCOL_CASES) {
      const base = byName.get(baselineOf(c))!;
      const baseRate = base === c ? null : measure(base, requests.get(base), slice / 2);
      const r = measure(c, requests.get(c), slice);
      rate.get(c)!.push(r);
      ratio.get(c)!.push(baseRate === null ? 1 : r / baseRate);
    }
  }
  const rows = PROTOCOL_CASES.map((c) => {
    const req = requests.get(c);
    const bytes = Buffer.isBuffer(req)
      ? req.length
      : typeof req === 'string'
        ? req.length
        : (req as { query: string; body: Buffer }).query.length + (req as { body: Buffer }).body.length;
    return {
      protocol: c.protocol,
      events_per_request: c.events,
      bytes_per_event: Math.round(bytes / c.events),
      events_per_s: Math.round(median(rate.get(c)!)),
      baseline: baselineOf(c),
      vs_baseline: Number(median(ratio.get(c)!).toFixed(2)),
      extra: c.extra ?? '',
    };
  });
  console.table(rows);
  return { seconds_per_case: SECONDS, rounds: ROUNDS, rows };
}
