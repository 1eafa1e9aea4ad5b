import zlib from 'node:zlib';
import { Analytics } from '@segment/analytics-node';
import { buildPageView, buildSelfDescribingEvent, buildStructEvent, newTracker } from '@snowplow/node-tracker';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

/**
 * The vendors' own clients from npm send to a running Tally; after the pipeline the report API
 * counts exactly their events, users and page views (ground truth: what this test sent).
 */

interface Truth {
  events: number;
  users: Set<string>;
  pageViews: number;
}
const truth = (): Truth => ({ events: 0, users: new Set(), pageViews: 0 });
const UA = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36';

describe('vendor SDKs against tally serve: Segment, Snowplow, gtag, pixel', () => {
  let tally: TallyProcess;
  let seg: TenantKeys;
  let snow: TenantKeys;
  let gt: TenantKeys;
  const segTruth = truth();
  const snowTruth = truth();
  const gtagTruth = truth();
  const snowFailures: unknown[] = [];

  async function sendSegment() {
    const analytics = new Analytics({ writeKey: seg.ingestKey, host: tally.baseUrl, flushAt: 7, flushInterval: 200 });
    const errors: unknown[] = [];
    analytics.on('error', (e) => errors.push(e));
    for (let v = 0; v < 4; v++) {
      const anonymousId = `seg-anon-${v}`;
      for (let p = 0; p < 2; p++) {
        analytics.page({
          anonymousId,
          name: `Page ${p}`,
          properties: { url: `https://seg.example/p${p}?v=${v}`, title: `Page ${p}` },
          context: { userAgent: UA },
        });
      }
      analytics.track({ anonymousId, event: 'Product Viewed', properties: { sku: `S${v}`, price: 10 + v }, context: { userAgent: UA } });
      segTruth.events += 3;
      segTruth.pageViews += 2;
      segTruth.users.add(anonymousId);
    }
    // identify is a link, not an event: seg-anon-0's history is seg-user-0's, one user
    analytics.identify({ anonymousId: 'seg-anon-0', userId: 'seg-user-0', traits: { plan: 'pro' } });
    analytics.track({ userId: 'seg-user-0', event: 'Order Completed', properties: { total: 30 } });
    analytics.track({ userId: 'seg-server-only', event: 'Invoice Paid', properties: { amount: 99 } });
    analytics.group({ userId: 'seg-server-only', groupId: 'org-1', traits: { name: 'Acme' } });
    segTruth.events += 3;
    segTruth.users.add('seg-server-only');
    await analytics.closeAndFlush({ timeout: 20_000 });
    expect(errors).toEqual([]);

    // analytics.js: text/plain JSON on a one-letter path, writeKey in the body
    const page = {
      type: 'page',
      anonymousId: 'seg-browser',
      messageId: 'ajs-fixed-1',
      properties: { url: 'https://seg.example/from-browser', title: 'B' },
      context: { userAgent: UA, page: { url: 'https://seg.example/from-browser' } },
      writeKey: seg.ingestKey,
      timestamp: new Date().toISOString(),
      sentAt: new Date().toISOString(),
    };
    for (let i = 0; i < 2; i++) {
      // sent twice: the retry carries the same messageId and counts once
      const r = await fetch(`${tally.baseUrl}/v1/p`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify(page) });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ success: true });
    }
    segTruth.events += 1;
    segTruth.pageViews += 1;
    segTruth.users.add('seg-browser');
  }

  async function sendSnowplow() {
    const common = { onRequestFailure: (f: unknown) => snowFailures.push(f) };
    const post = newTracker({ namespace: 'sp', appId: snow.measurementId }, { endpoint: tally.baseUrl, bufferSize: 4, ...common });
    for (let v = 0; v < 2; v++) {
      post.setDomainUserId(`sp-duid-${v}`);
      post.setSessionId(`00000000-0000-4000-8000-00000000000${v}`);
      post.setSessionIndex(1);
      post.track(buildPageView({ pageUrl: `https://snow.example/a?v=${v}`, pageTitle: 'A', referrer: 'https://www.bing.com/' }));
      post.track(buildPageView({ pageUrl: `https://snow.example/b?v=${v}`, pageTitle: 'B' }));
      post.track(buildStructEvent({ category: 'shop', action: 'add_to_cart', label: `S${v}`, value: 2 }), [
        { schema: 'iglu:com.acme/user_tier/jsonschema/1-0-0', data: { tier: 'gold' } },
      ]);
      snowTruth.events += 3;
      snowTruth.pageViews += 2;
      snowTruth.users.add(`sp-duid-${v}`);
    }
    await post.flush();

    // GET /i with the property's site id as the app id
    const get = newTracker({ namespace: 'sp-get', appId: snow.siteId }, { endpoint: tally.baseUrl, eventMethod: 'get', bufferSize: 1, ...common });
    get.setDomainUserId('sp-duid-get');
    get.track(buildPageView({ pageUrl: 'https://snow.example/get', pageTitle: 'G' }));
    get.track(buildSelfDescribingEvent({ event: { schema: 'iglu:com.acme/viewed_product/jsonschema/1-0-0', data: { sku: 'S9' } } }));
    snowTruth.events += 2;
    snowTruth.pageViews += 1;
    snowTruth.users.add('sp-duid-get');
    await get.flush();

    // an ingest key as Bearer wins over whatever the app id says
    const keyed = newTracker(
      { namespace: 'sp-key', appId: 'mobile-app' },
      { endpoint: tally.baseUrl, bufferSize: 1, customHeaders: { authorization: `Bearer ${snow.ingestKey}` }, ...common },
    );
    keyed.setDomainUserId('sp-duid-keyed');
    keyed.track(buildPageView({ pageUrl: 'https://snow.example/keyed' }));
    snowTruth.events += 1;
    snowTruth.pageViews += 1;
    snowTruth.users.add('sp-duid-keyed');
    await keyed.flush();

    // an app id naming no property: 200 for the tracker, dead-lettered for us
    const stray = newTracker({ namespace: 'sp-x', appId: 'no-such-app' }, { endpoint: tally.baseUrl, bufferSize: 1, ...common });
    stray.setDomainUserId('sp-stray');
    stray.track(buildPageView({ pageUrl: 'https://snow.example/stray' }));
    await stray.flush();
  }

  async function sendGtag() {
    const shared = `v=2&tid=${gt.measurementId}&gtm=45je&_p=1717243200123&cid=111.222&ul=en-us&sr=1920x1080&sid=1717243200&sct=1&seg=1&dl=${encodeURIComponent('https://gt.example/')}&dt=Home&_s=1`;
    for (let i = 0; i < 2; i++) {
      // the same batch twice: its synthesized ids dedup the resend
      const r = await fetch(`${tally.baseUrl}/g/collect?${shared}`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', 'user-agent': UA },
        body: 'en=page_view&_ss=1\nen=scroll&_et=12000&epn.percent_scrolled=90',
      });
      expect(r.status).toBe(204);
      expect(await r.text()).toBe('');
    }
    const get = await fetch(
      `${tally.baseUrl}/g/collect?v=2&tid=${gt.measurementId}&cid=333.444&en=page_view&dl=${encodeURIComponent('https://gt.example/get')}`,
      { headers: { 'user-agent': UA } },
    );
    expect(get.status).toBe(204);
    const pixel = await fetch(`${tally.baseUrl}/i.gif?mid=${gt.measurementId}&cid=555.666&eid=open-1&dl=${encodeURIComponent('https://gt.example/email')}`, {
      headers: { 'user-agent': UA },
    });
    expect(pixel.status).toBe(200);
    expect(pixel.headers.get('content-type')).toBe('image/gif');
    expect(pixel.headers.get('cache-control')).toContain('no-store');
    const gif = Buffer.from(await pixel.arrayBuffer());
    expect(gif.subarray(0, 6).toString('latin1')).toBe('GIF89a');
    gtagTruth.events += 4;
    gtagTruth.pageViews += 3;
    for (const u of ['111.222', '333.444', '555.666']) gtagTruth.users.add(u);
  }

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000' } });
    // browser hits come from the sites they name: each property allows its site's host
    [seg, snow, gt] = await Promise.all([
      createTenantCli(tally.dataDir, 'SegCo'),
      createTenantCli(tally.dataDir, 'SnowCo', ['--allowed-hostname', 'snow.example']),
      createTenantCli(tally.dataDir, 'GtagCo', ['--allowed-hostname', 'gt.example']),
    ]);
    await sendSegment();
    await sendSnowplow();
    await sendGtag();
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline']);
  }, 240_000);

  afterAll(async () => {
    const code = await tally?.stop();
    expect(code, tally?.output()).toBe(0);
  });

  async function totals(t: TenantKeys) {
    const r = await fetch(`${tally.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}` },
      body: JSON.stringify({
        dateRanges: [{ startDate: '2daysAgo', endDate: 'today' }],
        metrics: [{ name: 'eventCount' }, { name: 'totalUsers' }, { name: 'screenPageViews' }],
      }),
    });
    const body = (await r.json()) as any;
    expect(r.status, JSON.stringify(body)).toBe(200);
    const v = body.rows?.[0]?.metricValues.map((m: { value: string }) => Number(m.value)) ?? [0, 0, 0];
    return { events: v[0], users: v[1], pageViews: v[2] };
  }

  it('@segment/analytics-node and analytics.js-shaped calls: exact events, users, page views', async () => {
    expect(await totals(seg)).toEqual({ events: segTruth.events, users: segTruth.users.size, pageViews: segTruth.pageViews });
  });

  it('@snowplow/node-tracker over POST tp2 and GET /i: exact events, users, page views; stray app id dead-lettered', async () => {
    expect(snowFailures).toEqual([]);
    expect(await totals(snow)).toEqual({ events: snowTruth.events, users: snowTruth.users.size, pageViews: snowTruth.pageViews });
    const dead = await eventually(
      () => {
        const rows = readZone(tally.dataDir, 'deadletter').filter((r) => r.record.protocol === 'snowplow' && r.record.reason === 'unknown_property');
        return rows.length ? rows : undefined;
      },
      30_000,
      'the stray snowplow event in the dead-letter zone',
    );
    expect(dead.map((r) => r.record.payload.aid)).toEqual(['no-such-app']);
  });

  it('gtag /g/collect (POST batch resent, GET) and the pixel: exact events, users, page views', async () => {
    expect(await totals(gt)).toEqual({ events: gtagTruth.events, users: gtagTruth.users.size, pageViews: gtagTruth.pageViews });
  });

  it('answers hostile requests per protocol: 4xx where the vendor does, 200 for Snowplow, never 5xx', async () => {
    const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${tally.baseUrl}${path}`, { method: 'POST', headers, body });
    const brokenGzip = Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4]);
    const basic = `Basic ${Buffer.from(`${seg.ingestKey}:`).toString('base64')}`;
    expect((await post('/v1/batch', brokenGzip, { authorization: basic })).status).toBe(400);
    expect((await post('/v1/batch', '{"batch":', { authorization: basic })).status).toBe(400);
    expect(
      (await post('/v1/track', JSON.stringify({ event: 'x', anonymousId: 'a', properties: { p: 'y'.repeat(40_000) } }), { authorization: basic })).status,
    ).toBe(400);
    expect((await post('/v1/track', JSON.stringify({ event: 'x', anonymousId: 'a' }))).status).toBe(401);
    expect((await post('/v1/track', JSON.stringify({ event: 'x', anonymousId: 'a', writeKey: 'tk_ing_wrong' }))).status).toBe(401);
    const sp = await post('/com.snowplowanalytics.snowplow/tp2', brokenGzip, { 'content-encoding': 'gzip' });
    expect([sp.status, await sp.text()]).toEqual([200, 'ok']);
    expect((await post('/com.snowplowanalytics.snowplow/tp2', zlib.gzipSync('not json'))).status).toBe(200);
    expect((await post('/com.snowplowanalytics.snowplow/tp2', '{}', { authorization: 'Bearer tk_ing_wrong' })).status).toBe(401);
    expect((await post('/g/collect', 'en=page_view')).status).toBe(400);
    expect((await post('/g/collect?tid=G-NOPE', 'en=page_view')).status).toBe(404);
    expect((await post(`/g/collect?tid=${gt.measurementId}`, brokenGzip)).status).toBe(400);
    expect((await fetch(`${tally.baseUrl}/i.gif?en=x`)).status).toBe(400);
    // a preflight names no property: an origin some property allows is echoed, others are not
    const preflight = (origin: string) =>
      fetch(`${tally.baseUrl}/v1/batch`, { method: 'OPTIONS', headers: { origin, 'access-control-request-headers': 'authorization, content-type' } });
    expect((await preflight('https://shop.example')).headers.get('access-control-allow-origin')).toBeNull();
    const pre = await preflight('https://gt.example');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://gt.example');
    expect(pre.headers.get('access-control-allow-credentials')).toBe('true');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
  });
});
