import { CHROMIUM_ARGS, DESKTOP_UA } from '../support/chromium.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

/**
 * tally.js in a real headless Chromium (Debian's /usr/bin/chromium) on a page served by this test:
 * automatic and SPA page views, custom events, user id, scroll, a download, an outbound link and
 * engagement on leave all arrive in the raw zone with the right fields.
 */
const UA = DESKTOP_UA;

// Debian's chromium (`apt-get install chromium`; .ci/run installs it): never a downloaded browser.

describeWithService('tally.js in headless Chromium', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  let tally: TallyProcess;
  let t: TenantKeys;
  let site: http.Server;
  let origin: string;
  let browser: Browser;

  function page(title: string, cookie: boolean): string {
    const port = (site.address() as AddressInfo).port;
    return `<!doctype html><html><head><title>${title}</title>
<script>window.tally = window.tally || function () { (tally.q = tally.q || []).push(arguments) }; tally('consent', { analytics_storage: 'granted' });</script>
<script defer src="${tally.baseUrl}/tally.js" data-mid="${t.measurementId}"${cookie ? ' data-cookie="on"' : ''}></script></head>
<body style="margin:0"><div style="height:4000px">
<button id="custom" onclick="tally('event', 'signup', { plan: 'pro', seats: 3 })">custom</button>
<button id="user" onclick="tally('user', 'u-42')">user</button>
<button id="nav" onclick="history.pushState({}, '', '/app/second'); document.title = 'Second'">nav</button>
<a id="dl" href="/files/report.pdf">report</a>
<a id="out" href="http://localhost:${port}/elsewhere">elsewhere</a>
</div></body></html>`;
  }

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000' } });
    // the test site is served from 127.0.0.1: the property allows that host (its default would be browserco.example.com)
    t = await createTenantCli(tally.dataDir, 'BrowserCo', ['--allowed-hostname', '127.0.0.1']);
    site = http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (path.startsWith('/app/')) res.writeHead(200, { 'content-type': 'text/html' }).end(page('First', false));
      else if (path === '/cookie') res.writeHead(200, { 'content-type': 'text/html' }).end(page('Cookie', true));
      else if (path === '/files/report.pdf')
        res.writeHead(200, { 'content-type': 'application/pdf', 'content-disposition': 'attachment; filename="report.pdf"' }).end('%PDF-1.4\n');
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><title>Elsewhere</title><p>elsewhere</p>');
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    // the UA as a launch flag: a context override is lost in the unload of a cross-site navigation
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${UA}`] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    const code = await tally?.stop();
    expect(code, tally?.output()).toBe(0);
  });

  const rows = () =>
    readZone(tally.dataDir, 'raw')
      .map((r) => r.record)
      .filter((r) => r.property_id === t.propertyId && r.protocol === 'tallyjs');

  it('is served under 2 KB gzipped, with cache headers and an ETag that answers 304', async () => {
    const r = await fetch(`${tally.baseUrl}/tally.js`, { headers: { 'accept-encoding': 'gzip' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toContain('javascript');
    expect(r.headers.get('cache-control')).toMatch(/max-age=\d+/);
    const etag = r.headers.get('etag')!;
    expect(etag).toMatch(/^".+"$/);
    const js = await r.text();
    expect(js).toContain('/t/collect');
    expect(zlib.gzipSync(js, { level: 9 }).length).toBeLessThan(2048);
    const raw = await new Promise<{ status: number; bytes: number; encoding?: string }>((resolve, reject) => {
      http
        .get(`${tally.baseUrl}/tally.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          let bytes = 0;
          res
            .on('data', (c: Buffer) => (bytes += c.length))
            .on('end', () => resolve({ status: res.statusCode!, bytes, encoding: res.headers['content-encoding'] }));
        })
        .on('error', reject);
    });
    expect(raw).toMatchObject({ status: 200, encoding: 'gzip' });
    expect(raw.bytes).toBeLessThan(2048);
    expect((await fetch(`${tally.baseUrl}/tally.js`, { headers: { 'if-none-match': etag } })).status).toBe(304);
  });

  it('sends page views (load, pushState, popstate), custom events, user id, scroll, download, outbound click and engagement', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const p = await context.newPage();
    const first = `${origin}/app/first?utm_source=test`;
    await p.goto(first, { referer: 'https://www.google.com/' });
    await p.waitForFunction('window.tally && window.tally.l === 1');
    await p.click('#custom');
    await p.click('#user');
    await p.waitForTimeout(300);
    await p.click('#nav');
    await p.waitForTimeout(300);
    await p.goBack();
    await p.waitForTimeout(300);
    await p.evaluate('window.scrollTo(0, document.body.scrollHeight)');
    await p.waitForTimeout(300);
    const download = p.waitForEvent('download');
    await p.click('#dl');
    await download;
    await p.click('#out');
    await p.waitForURL(/localhost.*elsewhere/);
    await context.close();

    const expected = [
      'page_view',
      'signup',
      'tally_identity_link',
      'user_engagement',
      'page_view',
      'user_engagement',
      'page_view',
      'scroll',
      'file_download',
      'click',
      'user_engagement',
    ];
    const got = await eventually(
      () => {
        const r = rows().filter((x) => !x.url?.includes('/cookie'));
        return r.length >= expected.length ? r : undefined;
      },
      30_000,
      'the browser events in the raw zone',
    );
    got.sort((a, b) => a.client_ts - b.client_ts || a.received_at - b.received_at);
    expect(got.map((e) => e.name)).toEqual(expected);

    const cid = got[0].client_id;
    expect(got[0].language).toMatch(/^[a-z]{2}(-[A-Z]{2})?$/);
    expect(cid).toMatch(/^cl_[0-9a-f]{32}$/);
    for (const e of got) {
      expect(e).toMatchObject({
        protocol: 'tallyjs',
        client_id: cid,
        ua: UA,
        ua_source: 'request',
        language: got[0].language,
        screen: '1280x720',
        consent: { analytics_storage: 'granted' },
      });
      expect(e.ip_trunc).toBe('127.0.0.0');
      expect(Math.abs(e.client_ts - e.received_at)).toBeLessThan(60_000);
    }
    const views = got.filter((e) => e.name === 'page_view');
    expect(views.map((e) => [e.url, e.referrer])).toEqual([
      [first, 'https://www.google.com/'],
      [`${origin}/app/second`, first],
      [first, `${origin}/app/second`],
    ]);
    expect(views[0].title).toBe('First');
    expect(got.find((e) => e.name === 'signup').params).toEqual({ plan: 'pro', seats: 3 });
    const link = got.find((e) => e.name === 'tally_identity_link');
    expect(link).toMatchObject({ user_id: 'u-42', params: { user_id: 'u-42', client_id: cid, link_kind: 'user_id', source_protocol: 'tallyjs' } });
    // after tally('user', …) every event carries the user id
    expect(got.slice(got.indexOf(link)).every((e) => e.user_id === 'u-42')).toBe(true);
    expect(got.find((e) => e.name === 'scroll').params).toEqual({ percent_scrolled: 90 });
    expect(got.find((e) => e.name === 'file_download').params).toMatchObject({
      file_extension: 'pdf',
      file_name: 'report.pdf',
      link_url: `${origin}/files/report.pdf`,
      link_text: 'report',
    });
    expect(got.find((e) => e.name === 'click').params).toEqual({
      link_url: expect.stringMatching(/^http:\/\/localhost:\d+\/elsewhere$/),
      link_domain: 'localhost',
      outbound: true,
    });
    const engagement = got.filter((e) => e.name === 'user_engagement');
    for (const e of engagement) expect(e.params.engagement_time_msec).toBeGreaterThan(0);
    expect(engagement.at(-1).params.percent_scrolled).toBe(100);
  });

  it('keeps a first-party client id across visits with data-cookie="on"', async () => {
    const context = await browser.newContext();
    const p = await context.newPage();
    await p.goto(`${origin}/cookie`);
    await p.waitForFunction('window.tally && window.tally.l === 1');
    await p.waitForTimeout(400);
    await p.reload();
    await p.waitForFunction('window.tally && window.tally.l === 1');
    await p.waitForTimeout(400);
    const cookie = (await context.cookies()).find((c) => c.name === '_tally_id');
    expect(cookie?.value).toMatch(/^[a-z0-9]+\.[a-z0-9]+$/);
    expect(await p.evaluate("localStorage.getItem('_tally_id')")).toBe(cookie!.value);
    await context.close();
    const views = await eventually(
      () => {
        const r = rows().filter((x) => x.url === `${origin}/cookie` && x.name === 'page_view');
        return r.length >= 2 ? r : undefined;
      },
      30_000,
      'the cookie-mode page views',
    );
    expect(views.map((e) => e.client_id)).toEqual([cookie!.value, cookie!.value]);
  });
});
