import { CHROMIUM_ARGS, DESKTOP_UA } from '../support/chromium.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import zlib from 'node:zlib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { eventually, startTally, type TallyProcess } from '../support/tally-process.js';
import { visitPage, type A11yFinding } from '../support/console-visit.js';

/**
 * The web console in Debian's Chromium, as a new customer uses it: sign up, verify from the
 * outbox, create a property, install the shown tally.js snippet on a local page, watch the first
 * event arrive, read exactly that page's numbers on the dashboard, filter by a page, create and
 * revoke a key, log out. Every page is screenshotted at 1280 and 375 px into
 * test-results/console/ and checked with axe-core (no serious or critical violations).
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results/console');

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** The newest outbox message to `to` whose body has a link with `pathPart`: the link's path + query. */
function linkFromOutbox(dataDir: string, to: string, pathPart: string): string | undefined {
  const dir = path.join(dataDir, 'outbox');
  if (!fs.existsSync(dir)) return undefined;
  const files = fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.eml'))
    .sort()
    .reverse();
  for (const f of files) {
    const text = fs.readFileSync(path.join(dir, f), 'utf8');
    if (!new RegExp(`^To: .*${to.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'mi').test(text)) continue;
    const m = text.match(/https?:\/\/[^\s]+/g)?.find((u) => u.includes(pathPart));
    if (m) {
      const u = new URL(m);
      return u.pathname + u.search;
    }
  }
  return undefined;
}

describeWithService('web console in headless Chromium', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  let tally: TallyProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let site: http.Server;
  let siteOrigin = '';
  let snippet = '';
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];
  const a11y: A11yFinding[] = [];
  const email = `ada+${Date.now()}@example.com`;
  const password = 'correct horse battery staple';
  let propertyId = '';

  const visit = (name: string, ready?: () => Promise<unknown>) => visitPage(page, SHOTS, a11y, name, ready);

  const sitePage = (title: string, links: string) =>
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title>\n${snippet}\n</head><body><h1>${title}</h1><nav>${links}</nav></body></html>`;

  beforeAll(async () => {
    // npm test builds the console first (pretest); a lone vitest run builds it here
    if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html')))
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
    fs.rmSync(SHOTS, { recursive: true, force: true });
    fs.mkdirSync(SHOTS, { recursive: true });
    const port = await freePort();
    // billing off (provider none), whatever the shell's services env says: the Billing page's self-hosted view
    tally = await startTally({
      env: { PORT: String(port), TALLY_PUBLIC_URL: `http://127.0.0.1:${port}`, TALLY_TRANSFORM_INTERVAL_MS: '2000' },
      unset: ['STRIPE_SECRET_KEY', 'STRIPE_API_BASE', 'STRIPE_WEBHOOK_SECRET'],
    });
    site = http.createServer((req, res) => {
      const p = (req.url ?? '/').split('?')[0];
      const links = '<a id="home" href="/">Home</a> <a id="pricing" href="/pricing">Pricing</a> <a id="about" href="/about">About</a>';
      if (p === '/' || p === '/pricing' || p === '/about')
        res.writeHead(200, { 'content-type': 'text/html' }).end(sitePage(p === '/' ? 'Home' : p.slice(1), links));
      else res.writeHead(404).end();
    });
    await new Promise<void>((r) => site.listen(0, '127.0.0.1', r));
    siteOrigin = `http://127.0.0.1:${(site.address() as net.AddressInfo).port}`;
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${DESKTOP_UA}`] });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((r) => site?.close(r));
    const code = await tally?.stop();
    expect(code, tally?.output()).toBe(0);
  });

  it('serves the console with a strict CSP and helmet headers, and ships under 150 KB of gzipped JavaScript', async () => {
    const r = await fetch(`${tally.baseUrl}/login`);
    expect(r.status).toBe(200);
    const csp = r.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(r.headers.get('x-content-type-options')).toBe('nosniff');
    expect(r.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(r.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await r.text();
    // no inline script: every <script> has a src
    expect(html.match(/<script(?![^>]*\bsrc=)[^>]*>/g) ?? []).toEqual([]);
    const assets = [...html.matchAll(/\/assets\/[\w.-]+\.js/g)].map((m) => m[0]);
    expect(assets.length).toBeGreaterThan(0);
    let gz = 0;
    for (const a of assets) {
      const res = await fetch(`${tally.baseUrl}${a}`);
      expect(res.headers.get('cache-control')).toContain('immutable');
      expect(res.headers.get('content-security-policy')).toBe(csp);
      gz += zlib.gzipSync(Buffer.from(await res.arrayBuffer()), { level: 9 }).length;
    }
    process.stdout.write(`console: ${(gz / 1024).toFixed(1)} KB of JavaScript gzipped\n`);
    expect(gz).toBeLessThan(150 * 1024);
    // API paths keep their JSON answers; they are not the console's
    const api = await fetch(`${tally.baseUrl}/api/no-such-route`);
    expect(api.headers.get('content-type')).toContain('json');
    expect((await fetch(`${tally.baseUrl}/assets/missing.js`)).status).toBe(404);
  });

  it('walks a first day: sign up, verify, create a property, install, first event, dashboard, filter, keys, log out', async () => {
    // ---- public pages ----
    await page.goto(`${tally.baseUrl}/`);
    await page.waitForURL(/\/login/);
    await visit('login', () => page.getByRole('heading', { name: 'Log in to Tally' }).waitFor());
    await page.goto(`${tally.baseUrl}/forgot`);
    await visit('forgot', () => page.getByRole('heading', { name: 'Reset your password' }).waitFor());
    await page.goto(`${tally.baseUrl}/password-reset?token=not-a-real-token`);
    await visit('reset', () => page.getByRole('heading', { name: 'Choose a new password' }).waitFor());

    // ---- sign up ----
    await page.goto(`${tally.baseUrl}/signup`);
    await page.getByLabel('Your name').fill('Ada Lovelace');
    await page.getByLabel('Work e-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByLabel('Organisation').fill('Analytical Engines');
    await visit('signup');
    await page.getByRole('button', { name: 'Create account' }).click();
    await page.waitForURL(/\/welcome/);

    // ---- verify from the outbox ----
    const verifyPath = await eventually(() => linkFromOutbox(tally.dataDir, email, 'verify'), 10_000, 'the verification e-mail');
    await page.goto(`${tally.baseUrl}${verifyPath}`);
    await visit('verify', () => page.getByText('Your e-mail address is verified').waitFor());

    // ---- first run: the property ----
    await page.goto(`${tally.baseUrl}/welcome`);
    await page.getByLabel('Website name').fill('Engine shop');
    await page.getByLabel('Domain').fill('127.0.0.1');
    await visit('welcome');
    await page.getByRole('button', { name: 'Create property' }).click();
    await page.waitForURL(/\/p\/\d+\/install/);
    propertyId = /\/p\/(\d+)\//.exec(page.url())![1];

    // ---- install page: the snippet as shown ----
    await page.getByRole('tab', { name: 'tally.js' }).click();
    snippet = (await page.locator('.tabpanel pre code').innerText()).trim();
    expect(snippet).toMatch(/<script[^>]+src="[^"]+\/tally\.js"[^>]+data-mid="G-[A-Z0-9]+"/);
    const mid = await page.getByTestId('measurement-id').innerText();
    expect(snippet).toContain(mid);
    await expect.poll(() => page.getByTestId('first-event').getAttribute('data-state'), { timeout: 15_000 }).toBe('waiting');
    await visit('install-waiting');

    // ---- a local page with that snippet, clicked around: 4 page views (/, /pricing, /about, /) ----
    const visitor = await browser.newContext({ viewport: { width: 1280, height: 720 } });
    const v = await visitor.newPage();
    await v.goto(`${siteOrigin}/`);
    await v.waitForFunction('window.tally && window.tally.l === 1');
    for (const id of ['#pricing', '#about', '#home']) {
      await v.waitForTimeout(400);
      await Promise.all([v.waitForURL(/127\.0\.0\.1/), v.click(id)]);
      await v.waitForFunction('window.tally && window.tally.l === 1');
    }
    await v.waitForTimeout(500);
    await visitor.close();

    // ---- the waiting check turns green by itself ----
    await page.getByTestId('first-event').and(page.locator('[data-state="received"]')).waitFor({ timeout: 90_000 });
    await visit('install-received');

    // ---- the dashboard shows exactly what the page sent ----
    await page.getByRole('button', { name: 'Open your dashboard' }).click();
    await page.waitForURL(new RegExp(`/p/${propertyId}$`));
    await page.waitForSelector('html[data-widgets-filled="1"]', { timeout: 30_000 });
    const kpi = async (m: string) => Number(await page.getByTestId(`kpi-${m}`).getAttribute('data-value'));
    // the pipeline may still be loading the last page view: wait until the numbers settle at 4
    await expect
      .poll(
        async () => {
          await page.reload();
          await page.waitForSelector('html[data-widgets-filled="1"]');
          return kpi('screenPageViews');
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe(4);
    expect(await kpi('activeUsers')).toBe(1);
    expect(await kpi('sessions')).toBe(1);
    const pages = page.getByTestId('table-pages');
    await expect
      .poll(
        () =>
          pages
            .locator('button[data-value]')
            .evaluateAll((bs) => bs.map((b) => `${b.getAttribute('data-value')}=${b.querySelector('.bar-value')?.textContent}`)),
        { timeout: 15_000 },
      )
      .toEqual(['/=2', '/about=1', '/pricing=1']);
    await visit('dashboard');

    // ---- a click on a page row filters the whole dashboard, kept in the URL ----
    await pages.locator('button[data-value="/pricing"]').click();
    await page.waitForURL(/f\.pagePath=%2Fpricing/);
    await expect.poll(() => kpi('screenPageViews'), { timeout: 15_000 }).toBe(1);
    expect(await page.getByTestId('filter-chip').count()).toBe(1);
    await visit('dashboard-filtered');
    // the shared URL opens filtered
    await page.reload();
    await page.waitForSelector('html[data-widgets-filled="1"]');
    await expect.poll(() => kpi('screenPageViews'), { timeout: 15_000 }).toBe(1);
    await page.getByRole('button', { name: /Remove filter Page is \/pricing/ }).click();
    await expect.poll(() => kpi('screenPageViews'), { timeout: 15_000 }).toBe(4);

    // ---- the dashboard's speed, fresh load (printed, not asserted) ----
    await page.goto(`${tally.baseUrl}/p/${propertyId}?range=7d`);
    await page.waitForSelector('html[data-widgets-filled="1"]');
    const t = (await page.evaluate(
      `({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null, filled: performance.getEntriesByName('tally:widgets-filled')[0]?.startTime ?? null })`,
    )) as { fcp: number | null; filled: number | null };
    process.stdout.write(
      `console dashboard (this test's data): first contentful paint ${t.fcp?.toFixed(0)} ms, all widgets filled ${t.filled?.toFixed(0)} ms\n`,
    );

    // ---- settings: property, keys (create, shown once, works, revoke), members, audit ----
    await page.getByRole('link', { name: 'Settings' }).click();
    await visit('settings-property', () => page.getByLabel('Time zone').waitFor());
    // rules: saved through the API, then the replay offer (a dry run first); on Free the replay is the plan's refusal
    await page.getByRole('link', { name: 'Rules' }).click();
    await page.getByLabel('Extra bot patterns').waitFor();
    await page.getByLabel('Internal traffic', { exact: true }).fill('office: 198.51.100.0/33');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByText('internalTraffic.rules[0].cidrs[0]: an IPv4 or IPv6 address or CIDR range', { exact: false }).waitFor();
    await page.getByLabel('Internal traffic', { exact: true }).fill('office: 198.51.100.0/24, 2001:db8::/48');
    await page.getByLabel('Extra bot patterns').fill('AcmeKiosk\n/^internal-probe/');
    await page.getByRole('button', { name: 'Save rules' }).click();
    await page.getByTestId('replay-offer').getByText('Replay a range with a dry run first.').waitFor();
    await visit('settings-rules');
    const saved = (await page.evaluate(`fetch('/api/properties/${propertyId}/rules').then((r) => r.json())`)) as {
      rules: { botPatterns: unknown; internalTraffic: { rules: unknown } };
    };
    expect(saved.rules.botPatterns).toEqual([
      { match: 'contains', value: 'AcmeKiosk' },
      { match: 'regex', value: '^internal-probe' },
    ]);
    expect(saved.rules.internalTraffic.rules).toEqual([{ name: 'office', trafficType: 'internal', cidrs: ['198.51.100.0/24', '2001:db8::/48'] }]);
    await page.getByRole('button', { name: 'Dry run' }).click();
    await page.getByTestId('replay-offer').getByTestId('replay-upgrade').getByText('does not include replay').waitFor();
    await visit('settings-rules-replay');
    await page.getByRole('link', { name: 'Keys' }).click();
    await page.getByRole('button', { name: 'Create key' }).first().click();
    await page.getByLabel('Name').fill('Reporting script');
    await page.getByLabel('Kind').selectOption('read');
    await visit('settings-key-create');
    await page.getByRole('dialog').getByRole('button', { name: 'Create key' }).click();
    const secret = (await page.getByTestId('new-secret').locator('pre code').innerText()).trim();
    expect(secret.length).toBeGreaterThan(16);
    await visit('settings-key-secret');
    const report = () =>
      fetch(`${tally.baseUrl}/v1beta/properties/${propertyId}:runReport`, {
        method: 'POST',
        headers: { authorization: `Bearer ${secret}` },
        body: JSON.stringify({ dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }], metrics: [{ name: 'screenPageViews' }] }),
      });
    expect((await report()).status).toBe(200);
    await page.getByRole('button', { name: "I've saved it" }).click();
    const row = page.locator('tr[data-key-name="Reporting script"]');
    await row.waitFor();
    await visit('settings-keys');
    await row.getByRole('button', { name: 'Revoke Reporting script' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Revoke key' }).click();
    await row.waitFor({ state: 'detached' });
    await eventually(async () => ((await report()).status === 401 ? true : undefined), 5_000, 'the revoked key refused');

    await page.getByRole('link', { name: 'Members' }).click();
    await visit('settings-members', () => page.getByRole('cell', { name: email }).waitFor());
    await page.getByRole('link', { name: 'Audit log' }).click();
    await visit('settings-audit', () => page.locator('table.audit tbody tr').first().waitFor());
    expect(await page.locator('table.audit').innerText()).toMatch(/key/i);

    // without STRIPE_SECRET_KEY (provider none) the owner's Billing page shows the plan and usage only
    await page.getByRole('link', { name: 'Billing' }).click();
    await visit('billing', () => page.getByText('Billing is not enabled on this installation (self-hosted).').waitFor());
    expect(await page.getByTestId('billing-plan').innerText()).toBe('Free');
    expect(await page.getByRole('button', { name: /Upgrade to/ }).count()).toBe(0);
    await page.getByRole('link', { name: 'Support' }).click();
    await visit('support', () => page.getByRole('heading', { name: 'Support' }).waitFor());
    await page.goto(`${tally.baseUrl}/invitations/not-a-real-token`);
    await visit('invitation', () => page.getByRole('heading', { name: 'Join your team on Tally' }).waitFor());

    // ---- log out ----
    await page.goto(`${tally.baseUrl}/p/${propertyId}`);
    await page.getByRole('button', { name: /^Account:/ }).click();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(/\/login/);
    const me = await page.evaluate(`fetch('/api/me').then((r) => r.status)`);
    expect(me).toBe(401);

    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(a11y, JSON.stringify(a11y, null, 2)).toEqual([]);
  }, 300_000);
});

describeWithService('web console dashboard on the demo data', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  let tally: TallyProcess;
  let browser: Browser;

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html')))
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
    fs.mkdirSync(SHOTS, { recursive: true });
    tally = await startTally({ env: { TALLY_DEMO: 'on', LOG_LEVEL: 'info' } });
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${DESKTOP_UA}`] });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    const code = await tally?.stop();
    expect(code, tally?.output()).toBe(0);
  });

  it('logs in with the printed demo login and fills the dashboard (first paint and all widgets printed)', async () => {
    const out = await eventually(() => (tally.output().includes('Web console:') ? tally.output() : undefined), 150_000, 'the demo tenant');
    const [, email, password] = /log in as (\S+), password (\S+)\)/.exec(out)!;
    const propertyId = /property id\s+(\d+)/.exec(out)![1];
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto(`${tally.baseUrl}/login`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(new RegExp(`/p/${propertyId}`));
    const times: { fcp: number; filled: number }[] = [];
    for (let i = 0; i < 3; i++) {
      // a fresh document each time: the first paint and the widgets of a cold dashboard load
      await page.goto(`${tally.baseUrl}/p/${propertyId}?range=7d`);
      // generous: the demo's own ingest and transform share the CI machine's two cores with the
      // other suites; the figures printed below are what this test is for, not a bound
      await page.waitForSelector('html[data-widgets-filled="1"]', { timeout: 90_000 });
      times.push(
        (await page.evaluate(
          `({ fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN, filled: performance.getEntriesByName('tally:widgets-filled')[0]?.startTime ?? NaN })`,
        )) as { fcp: number; filled: number },
      );
    }
    const sessions = Number(await page.getByTestId('kpi-sessions').getAttribute('data-value'));
    expect(sessions).toBeGreaterThan(100);
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    process.stdout.write(
      `console dashboard on the demo data (${sessions} sessions, 7 days), median of 3 cold loads: first contentful paint ${median(times.map((t) => t.fcp)).toFixed(0)} ms, all widgets filled ${median(times.map((t) => t.filled)).toFixed(0)} ms (targets 1000 / 2000 ms)\n`,
    );
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-demo-1280.png'), fullPage: true });
    await page.setViewportSize({ width: 375, height: 812 });
    await page.waitForTimeout(200);
    await page.screenshot({ path: path.join(SHOTS, 'dashboard-demo-375.png'), fullPage: true });
    await context.close();
  }, 480_000);
});
