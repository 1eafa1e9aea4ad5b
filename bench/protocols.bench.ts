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
 */

const SECONDS = Number(process.env.BENCH_PROTOCOL_SECONDS ?? 2);
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

export interface ProtocolCase {
  protocol: string;
  /** Events in the one request `parse` handles. */
  events: number;
  /** Builds the request once; what `parse` receives on every iteration. */
  prepare: () => unknown;
  /** Parses one request from its raw form; returns the number of accepted events. */
  parse: (request: unknown, receivedAt: number) => number;
}

const pageUrl = (i: number) => `https://shop.example.com/products/${i}?utm_source=news&utm_medium=email`;
const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

export const PROTOCOL_CASES: ProtocolCase[] = [
  {
    protocol: 'native',
    events: 25,
    prepare: () =>
      Buffer.from(JSON.stringify({ events: Array.from({ length: 25 }, (_, i) => ({ name: i % 5 ? 'scroll' : 'page_view', client_id: 'c-1', event_id: `e-${i}`, url: pageUrl(i), user_agent: UA, params: { percent_scrolled: 90 } })) })),
    parse: (req, receivedAt) => parseNative(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'ga4mp',
    events: 25,
    prepare: () =>
      Buffer.from(JSON.stringify({ client_id: '123.456', user_agent: UA, events: Array.from({ length: 25 }, (_, i) => ({ name: i % 5 ? 'scroll' : 'page_view', params: { session_id: 1700000000, engagement_time_msec: 1200, page_location: pageUrl(i), percent_scrolled: 90 } })) })),
    parse: (req, receivedAt) => parseGa4Mp(parseGa4MpBody(req as Buffer), { receivedAt }).events.length,
  },
  {
    protocol: 'gtag',
    events: 25,
    prepare: () => ({
      query: `v=2&tid=G-BENCH&gtm=45je&_p=1700000000123&cid=123.456&ul=en-us&sr=1920x1080&sid=1700000000&sct=2&seg=1&dl=${encodeURIComponent(pageUrl(0))}&dt=Home&_s=3`,
      body: Buffer.from(Array.from({ length: 25 }, (_, i) => (i % 5 ? `en=scroll&_et=1200&epn.percent_scrolled=90` : `en=add_to_cart&cu=USD&epn.value=9.99&pr1=idSKU${i}~nmShoe~pr9.99~qt1`)).join('\n')),
    }),
    parse: (req) => {
      const { query, body } = req as { query: string; body: Buffer };
      const hits = gtagHits(new URLSearchParams(query), body.toString('utf8'));
      return parseGtag(hits, gtagMeasurementId(hits)!).events.length;
    },
  },
  {
    protocol: 'pixel',
    events: 1,
    prepare: () => `tid=G-BENCH&cid=sub-1&en=email_open&eid=open-1&dl=${encodeURIComponent(pageUrl(1))}&ep.campaign=spring`,
    parse: (req) => ('reason' in parsePixel(new URLSearchParams(req as string)) ? 0 : 1),
  },
  {
    protocol: 'segment',
    events: 25,
    prepare: () =>
      Buffer.from(
        JSON.stringify({
          writeKey: 'k',
          sentAt: new Date().toISOString(),
          batch: Array.from({ length: 25 }, (_, i) => ({
            type: i % 5 ? 'track' : 'page',
            event: 'Product Viewed',
            anonymousId: 'a-1',
            messageId: `node-next-${i}`,
            timestamp: new Date().toISOString(),
            properties: { sku: `S${i}`, price: 9.99, url: pageUrl(i) },
            context: { userAgent: UA, library: { name: '@segment/analytics-node', version: '3.1.0' }, page: { url: pageUrl(i) } },
          })),
        }),
      ),
    parse: (req, receivedAt) => parseSegment(JSON.parse((req as Buffer).toString('utf8')), 'batch', { receivedAt }).events.length,
  },
  {
    protocol: 'snowplow',
    events: 25,
    prepare: () =>
      Buffer.from(
        JSON.stringify({
          schema: 'iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4',
          data: Array.from({ length: 25 }, (_, i) => ({
            e: i % 5 ? 'se' : 'pv', se_ca: 'shop', se_ac: 'add_to_cart', eid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, tv: 'node-4.8.0', p: 'srv', aid: 'G-BENCH',
            url: pageUrl(i), duid: 'd-1', sid: 's-1', dtm: String(Date.now()), stm: String(Date.now()),
            cx: b64({ schema: 'iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-0', data: [{ schema: 'iglu:com.acme/user/jsonschema/1-0-0', data: { tier: 'gold' } }] }),
          })),
        }),
      ),
    parse: (req, receivedAt) => parseSnowplowPost(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
  {
    protocol: 'snowplow GET',
    events: 1,
    prepare: () => new URLSearchParams({ e: 'pv', eid: 'g-1', tv: 'js-3.5.0', p: 'web', aid: 'G-BENCH', url: pageUrl(2), duid: 'd-1', dtm: String(Date.now()) }).toString(),
    parse: (req, receivedAt) => parseSnowplowGet(new URLSearchParams(req as string), { receivedAt }).events.length,
  },
  {
    protocol: 'plausible',
    events: 1,
    prepare: () => Buffer.from(JSON.stringify({ n: 'pageview', u: pageUrl(1), d: 'shop.example.com', r: 'https://www.google.com/', w: 1280, p: { plan: 'pro' } })),
    parse: (req) => (parsePlausible(JSON.parse((req as Buffer).toString('utf8'))).ok ? 1 : 0),
  },
  {
    protocol: 'umami',
    events: 1,
    prepare: () => Buffer.from(JSON.stringify({ type: 'event', payload: { website: 'G-BENCH', hostname: 'shop.example.com', url: '/products/1?utm_source=news', title: 'P', language: 'en-US', screen: '1920x1080', referrer: 'https://www.google.com/' } })),
    parse: (req, receivedAt) => (parseUmami(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).ok ? 1 : 0),
  },
  {
    protocol: 'posthog (base64 form)',
    events: 25,
    prepare: () => {
      const batch = Array.from({ length: 25 }, (_, i) => ({
        uuid: `0194c3f4-6f2a-7b7e-9a1b-${String(i).padStart(12, '0')}`,
        event: i % 5 ? 'clicked' : '$pageview',
        distinct_id: 'd-1',
        timestamp: new Date().toISOString(),
        properties: { $device_id: 'd-1', $current_url: pageUrl(i), $session_id: 's-1', $raw_user_agent: UA, $screen_width: 1920, $screen_height: 1080 },
      }));
      const json = JSON.stringify({ api_key: 'tk_ing_bench', sent_at: new Date().toISOString(), batch });
      return Buffer.from(`data=${encodeURIComponent(Buffer.from(json).toString('base64'))}&compression=base64`);
    },
    parse: (req, receivedAt) => parsePostHog(decodePostHogBody(req as Buffer, new URLSearchParams(), 20 * 1024 * 1024), { receivedAt }).events.length,
  },
  {
    protocol: 'tallyjs',
    events: 5,
    prepare: () => Buffer.from(JSON.stringify({ l: 'en-US', s: '1920x1080', st: Date.now(), e: Array.from({ length: 5 }, (_, i) => ({ n: i ? 'scroll' : 'page_view', u: pageUrl(i), r: 'https://www.google.com/', t: 'P', ts: Date.now(), p: { percent_scrolled: 90 } })) })),
    parse: (req, receivedAt) => parseTallyJs(JSON.parse((req as Buffer).toString('utf8')), { receivedAt }).events.length,
  },
];

function measure(c: ProtocolCase): { requests: number; seconds: number } {
  const req = c.prepare();
  const accepted = c.parse(req, Date.now());
  if (accepted !== c.events) throw new Error(`${c.protocol}: the bench request parses to ${accepted} events, expected ${c.events}`);
  for (let i = 0; i < 200; i++) c.parse(req, Date.now());
  let requests = 0;
  const start = process.hrtime.bigint();
  const until = start + BigInt(Math.round(SECONDS * 1e9));
  let now = start;
  while (now < until) {
    for (let i = 0; i < 50; i++) c.parse(req, Date.now());
    requests += 50;
    now = process.hrtime.bigint();
  }
  return { requests, seconds: Number(now - start) / 1e9 };
}

export async function run() {
  const rows = PROTOCOL_CASES.map((c) => {
    const { requests, seconds } = measure(c);
    return {
      protocol: c.protocol,
      events_per_request: c.events,
      requests_per_s: Math.round(requests / seconds),
      events_per_s: Math.round((requests * c.events) / seconds),
    };
  });
  const native = rows.find((r) => r.protocol === 'native')!.events_per_s;
  const table = rows.map((r) => ({ ...r, vs_native: Number((r.events_per_s / native).toFixed(2)) }));
  console.table(table);
  return { seconds_per_case: SECONDS, rows: table };
}
