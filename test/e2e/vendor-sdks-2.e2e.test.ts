import zlib from 'node:zlib';
import { PostHog } from 'posthog-node';
import { Umami } from '@umami/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tallyCli } from '../support/cli.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

/**
 * PostHog's and Umami's own clients from npm, and Plausible-script-shaped requests, send to a
 * running Tally; after the pipeline the report API counts exactly their events, users and page
 * views (ground truth: what this test sent; cookieless visitors are distinct user agents / IPs).
 */

interface Truth {
  events: number;
  users: Set<string>;
  pageViews: number;
}
const truth = (): Truth => ({ events: 0, users: new Set(), pageViews: 0 });
const ua = (v: number) => `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.${v} Safari/537.36`;

describe('vendor SDKs against tally serve: PostHog, Umami, Plausible', () => {
  let tally: TallyProcess;
  let ph: TenantKeys;
  let um: TenantKeys;
  let pl: TenantKeys;
  const phTruth = truth();
  const umTruth = truth();
  const plTruth = truth();

  async function sendPostHog() {
    const client = new PostHog(ph.ingestKey, { host: tally.baseUrl, flushAt: 5, flushInterval: 100 });
    const errors: unknown[] = [];
    client.on('error', (e) => errors.push(e));
    for (let v = 0; v < 4; v++) {
      const distinctId = `ph-anon-${v}`;
      for (let p = 0; p < 2; p++)
        client.capture({ distinctId, event: '$pageview', properties: { $current_url: `https://ph.example/p${p}?v=${v}`, title: `P${p}` } });
      client.capture({ distinctId, event: 'clicked_button', properties: { button: `b${v}`, nested: { a: [1, 2] } } });
      phTruth.events += 3;
      phTruth.pageViews += 2;
      phTruth.users.add(distinctId);
    }
    // identify and alias link known anonymous ids to users: links, not events; the user's later
    // events and the anonymous history are one user
    client.identify({ distinctId: 'ph-user-0', properties: { $anon_distinct_id: 'ph-anon-0', $set: { plan: 'pro' } } });
    client.alias({ distinctId: 'ph-user-1', alias: 'ph-anon-1' });
    client.capture({ distinctId: 'ph-user-0', event: '$pageview', properties: { $current_url: 'https://ph.example/account', title: 'Account' } });
    phTruth.events += 1;
    phTruth.pageViews += 1;
    await client.shutdown(20_000);
    expect(errors).toEqual([]);

    // posthog-js shapes: base64 in a data= form on /e/, sent twice with the same uuid (counts once)
    const browser = {
      api_key: ph.ingestKey,
      sent_at: new Date().toISOString(),
      batch: [
        {
          uuid: '0194c3f4-6f2a-7b7e-9a1b-2c3d4e5f6a7b',
          event: '$pageview',
          timestamp: new Date().toISOString(),
          properties: {
            distinct_id: 'ph-dev-9',
            $device_id: 'ph-dev-9',
            $current_url: 'https://ph.example/landing',
            $session_id: 'ph-s-9',
            $raw_user_agent: ua(9),
            $browser_language: 'en-US',
            $screen_width: 1440,
            $screen_height: 900,
          },
        },
      ],
    };
    for (let i = 0; i < 2; i++) {
      const body = `data=${encodeURIComponent(Buffer.from(JSON.stringify(browser)).toString('base64'))}&compression=base64`;
      const r = await fetch(`${tally.baseUrl}/e/?ver=1.200.0&_=${Date.now()}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ status: 1 });
    }
    // gzip-js flag, no Content-Encoding header; an identified user on that device
    const signup = { token: ph.ingestKey, event: 'signup', distinct_id: 'ph-user-9', properties: { $device_id: 'ph-dev-9', plan: 'team' } };
    const gz = await fetch(`${tally.baseUrl}/i/v0/e/?compression=gzip-js`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: zlib.gzipSync(JSON.stringify(signup)),
    });
    expect(gz.status).toBe(200);
    const beacon = await fetch(`${tally.baseUrl}/e/?beacon=1`, {
      method: 'POST',
      body: JSON.stringify({ ...signup, event: 'left', uuid: '0194c3f4-0000-7000-8000-000000000001' }),
    });
    expect(beacon.status).toBe(204);
    phTruth.events += 3;
    phTruth.pageViews += 1;
    phTruth.users.add('ph-dev-9');
  }

  async function sendUmami() {
    const hostname = 'um.example';
    for (let v = 0; v < 3; v++) {
      const umami = new Umami({ hostUrl: tally.baseUrl, websiteId: v === 2 ? um.siteId : um.measurementId, userAgent: ua(v) });
      for (const path of ['/a', '/b']) {
        const r = await umami.track({ hostname, url: `${path}?v=${v}`, title: path, language: 'en-US', screen: '1920x1080' });
        expect(r.status).toBe(200);
        const body = (await r.json()) as { cache: string; sessionId: string };
        expect(body.cache).toEqual(expect.any(String));
        expect(body.sessionId).toMatch(/^[0-9a-f-]{36}$/);
      }
      expect((await umami.track('signup', { plan: 'pro', seats: v })).status).toBe(200);
      umTruth.events += 3;
      umTruth.pageViews += 2;
      umTruth.users.add(`ua:${v}`);
    }
    // a distinct id given: the visitor is that id; identify links the cookieless hash to it
    const known = new Umami({ hostUrl: tally.baseUrl, websiteId: um.measurementId, userAgent: ua(0) });
    expect((await known.track({ website: um.measurementId, hostname, url: '/c', id: 'um-user-1' } as never)).status).toBe(200);
    expect((await known.send({ website: um.measurementId, id: 'um-user-1', data: { plan: 'pro' } } as never, 'identify')).status).toBe(200);
    expect((await known.identify({ company: 'Acme' })).status).toBe(200);
    // the identify with an id is a link (not an event) from browser ua(0)'s cookieless id to
    // um-user-1: that browser's history and um-user-1's events are one user
    umTruth.events += 2;
    umTruth.pageViews += 1;
    umTruth.users.delete('ua:0');
    umTruth.users.add('id:um-user-1');

    // the tracker's /api/batch with the cache token sent back
    const r = await fetch(`${tally.baseUrl}/api/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': ua(5), 'x-umami-cache': 'whatever-we-answered-last-time' },
      body: JSON.stringify([
        { type: 'event', payload: { website: um.measurementId, hostname, url: '/batch', title: 'B' } },
        { type: 'event', payload: { website: um.measurementId, name: 'n'.repeat(60) } },
        { type: 'event', payload: { website: 'no-such-site', url: '/x' } },
      ]),
    });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({
      size: 3,
      processed: 1,
      errors: 2,
      details: [{ index: 1 }, { index: 2, response: { error: { message: 'Website not found.' } } }],
    });
    umTruth.events += 1;
    umTruth.pageViews += 1;
    umTruth.users.add('ua:5');
  }

  async function sendPlausible() {
    const domain = 'plausco.example.com';
    const send = (body: unknown, headers: Record<string, string>) =>
      fetch(`${tally.baseUrl}/api/event`, { method: 'POST', headers: { 'content-type': 'text/plain', ...headers }, body: JSON.stringify(body) });
    for (let v = 0; v < 3; v++) {
      const h = { 'user-agent': ua(v) };
      for (const path of ['/', '/pricing']) {
        const r = await send({ n: 'pageview', u: `https://${domain}${path}?utm_source=news`, d: domain, r: 'https://www.google.com/', w: 1280 }, h);
        expect([r.status, await r.text()]).toEqual([202, 'ok']);
      }
      expect((await send({ name: 'Signup', url: `https://${domain}/pricing`, domain: `other.example, ${domain}`, props: { plan: 'pro' } }, h)).status).toBe(
        202,
      );
      expect((await send({ n: 'engagement', u: `https://${domain}/pricing`, d: domain, sd: 80, e: 15_000 }, h)).status).toBe(202);
      plTruth.events += 4;
      plTruth.pageViews += 2;
      plTruth.users.add(`ua:${v}`);
    }
    // a server-side sender forwarding the visitor's IP: same UA, another IP, another visitor
    expect(
      (await send({ n: 'pageview', u: `https://www.${domain}/server`, d: domain }, { 'user-agent': ua(0), 'x-forwarded-for': '203.0.113.50, 10.0.0.1' }))
        .status,
    ).toBe(202);
    plTruth.events += 1;
    plTruth.pageViews += 1;
    plTruth.users.add('ip:203.0.113.50');
    const stray = await send({ n: 'pageview', u: 'https://nobody-owns-this.example/' }, { 'user-agent': ua(0) });
    expect([stray.status, stray.headers.get('x-plausible-dropped')]).toEqual([202, '1']);
  }

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000' } });
    [ph, um, pl] = await Promise.all([
      createTenantCli(tally.dataDir, 'PosthogCo'),
      // Umami's hits come from um.example: the property allows that host
      createTenantCli(tally.dataDir, 'UmamiCo', ['--allowed-hostname', 'um.example']),
      createTenantCli(tally.dataDir, 'PlausCo'),
    ]);
    await sendPostHog();
    await sendUmami();
    await sendPlausible();
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

  const raw = (t: TenantKeys) =>
    readZone(tally.dataDir, 'raw')
      .map((r) => r.record)
      .filter((r) => r.property_id === t.propertyId);

  it('posthog-node and posthog-js shapes: exact events, users, page views', async () => {
    expect(await totals(ph)).toEqual({ events: phTruth.events, users: phTruth.users.size, pageViews: phTruth.pageViews });
  });

  it('PostHog $identify / $create_alias and Umami identify are kept as identity-link records', async () => {
    const links = raw(ph).filter((r) => r.name === 'tally_identity_link');
    expect(links.map((r) => [r.params.link_kind, r.params.client_id, r.params.user_id, r.params.source_protocol]).sort()).toEqual([
      ['alias', 'ph-anon-1', 'ph-user-1', 'posthog'],
      ['identify', 'ph-anon-0', 'ph-user-0', 'posthog'],
    ]);
    expect(links.find((r) => r.params.link_kind === 'identify').user_props).toEqual({ plan: 'pro' });
    const umLinks = raw(um).filter((r) => r.name === 'tally_identity_link');
    expect(umLinks).toHaveLength(1);
    expect(umLinks[0].params).toMatchObject({ user_id: 'um-user-1', client_id: expect.stringMatching(/^cl_[0-9a-f]{32}$/), source_protocol: 'umami' });
    // the hash linked is the cookieless id of that browser's other events
    const sameBrowser = raw(um).filter((r) => r.client_id === umLinks[0].params.client_id && r.name === 'page_view');
    expect(sameBrowser.length).toBe(2);
  });

  it('@umami/node: exact events, users, page views; unknown website dead-lettered', async () => {
    expect(await totals(um)).toEqual({ events: umTruth.events, users: umTruth.users.size, pageViews: umTruth.pageViews });
    const dead = await eventually(
      () => {
        const rows = readZone(tally.dataDir, 'deadletter').filter((r) => r.record.protocol === 'umami');
        return rows.length ? rows : undefined;
      },
      30_000,
      'the unknown Umami website in the dead-letter zone',
    );
    expect(dead.map((r) => r.record.reason)).toEqual(['unknown_property']);
  });

  it('Plausible script requests: exact events, users, page views; names and props mapped', async () => {
    expect(await totals(pl)).toEqual({ events: plTruth.events, users: plTruth.users.size, pageViews: plTruth.pageViews });
    const rows = raw(pl);
    expect(rows.filter((r) => r.name === 'user_engagement').every((r) => r.params.engagement_time_msec === 15_000)).toBe(true);
    expect(rows.find((r) => r.name === 'Signup').params.plan).toBe('pro');
    expect(rows.find((r) => r.url === `https://www.plausco.example.com/server`).ip_trunc).toBe('203.0.113.0');
  });

  it("answers hostile requests with 4xx in each vendor's shape, never 5xx", async () => {
    const post = (path: string, body: string | Buffer, headers: Record<string, string> = {}) =>
      fetch(`${tally.baseUrl}${path}`, { method: 'POST', headers, body });
    const brokenGzip = Buffer.from([0x1f, 0x8b, 0x08, 0, 1, 2, 3, 4]);
    const cases: [string, string | Buffer, Record<string, string>, number][] = [
      ['/batch/', brokenGzip, { 'content-encoding': 'gzip' }, 400],
      ['/batch/', '{"api_key":', {}, 400],
      ['/e/', 'data=%%%not-base64%%%', { 'content-type': 'application/x-www-form-urlencoded' }, 400],
      ['/e/?compression=gzip-js', 'plain text, not gzip', {}, 400],
      ['/e/?compression=lz64', 'data=N4IgLg', {}, 400],
      ['/capture/', JSON.stringify({ api_key: 'tk_ing_wrong', event: 'x', distinct_id: 'd' }), {}, 401],
      ['/track', JSON.stringify({ event: 'x', distinct_id: 'd' }), {}, 401],
      ['/batch', JSON.stringify({ api_key: 'k', batch: [] }), {}, 400],
      ['/batch', Buffer.alloc(21 * 1024 * 1024, 0x20), {}, 413],
      ['/api/send', brokenGzip, {}, 400],
      ['/api/send', '[]', {}, 400],
      ['/api/send', JSON.stringify({ type: 'event', payload: { website: um.measurementId, data: 'x' } }), {}, 400],
      ['/api/batch', '{}', {}, 400],
      ['/api/event', brokenGzip, {}, 400],
      ['/api/event', '{"n":"pageview"', {}, 400],
      ['/api/event', JSON.stringify({ n: 'pageview', u: `https://plausco.example.com/${'x'.repeat(3000)}` }), {}, 400],
      ['/api/event', JSON.stringify({ n: 'x', u: 'https://plausco.example.com/', p: { k: 'v'.repeat(3000) } }), {}, 400],
    ];
    for (const [path, body, headers, status] of cases) {
      const r = await post(path, body, headers);
      expect(r.status, `${path} ${String(body).slice(0, 40)}`).toBe(status);
      if (status !== 413) expect(await r.json()).toBeTypeOf('object');
    }
    const plain = await post('/api/event', '{"u":"https://plausco.example.com/"}');
    expect(await plain.json()).toEqual({ errors: { name: ["can't be blank"] } });
    const ph401 = await post('/e/', JSON.stringify({ token: 'nope', event: 'x', distinct_id: 'd' }));
    expect(await ph401.json()).toMatchObject({ type: 'authentication_error', code: 'invalid_api_key' });
    const pre = await fetch(`${tally.baseUrl}/api/send`, {
      method: 'OPTIONS',
      headers: { origin: 'https://um.example', 'access-control-request-headers': 'content-type, x-umami-cache' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-headers')).toContain('x-umami-cache');
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://um.example');
  });
});
