import { CHROMIUM_ARGS, DESKTOP_UA } from '../support/chromium.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { startTally, type TallyProcess } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { CookieClient } from '../support/cookie-client.js';
import { visitPage, type A11yFinding } from '../support/console-visit.js';
import { consoleAccounts } from '../support/console-accounts.js';

/**
 * Issue 13's tools in the console (embedded profile, Chromium): an owner on Growth (the plan with
 * replay) whose property got page views two days ago changes its rules (a bot pattern, a key
 * event), opens Support, runs a dry run and reads its diff (users 6 → 4, key events 0 → 1, the
 * pages that move), runs it for real; lists the dead letter a hit from an unlisted host left and
 * redrives it; inspects a visitor (raw events with their verdicts beside the sessions). An
 * owner on Free sees the upgrade hint, a viewer the 403 page, another organisation none of
 * these replays. Screenshots at 1280 and 375 px into test-results/console/support-*.png.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results/console');
const PASSWORD = 'support console password';

describeWithService('console support page (Chromium)', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  let tally: TallyProcess;
  let browser: Browser;
  let owner: CookieClient;
  let orgId = '';
  let propertyId = '';
  const stamp = Date.now();
  const emails = { owner: `sam+${stamp}@support.test`, viewer: `val+${stamp}@support.test`, free: `fred+${stamp}@support.test` };
  const a11y: A11yFinding[] = [];
  const pageErrors: string[] = [];
  // a whole UTC day two days ago: closed (no open sessions), within ingest's 72 h
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  const at = (minute: number) => Date.parse(`${day}T10:00:00Z`) + minute * 60_000;

  const { signUp, join } = consoleAccounts(() => tally, PASSWORD);

  async function logIn(email: string, landing: RegExp): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${email}: ${e.message}`));
    await page.goto(`${tally.baseUrl}/login`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(landing);
    return page;
  }

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html')))
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
    fs.mkdirSync(SHOTS, { recursive: true });
    // no scheduled pipeline: the run below is the only one
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '86400000' } });
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${DESKTOP_UA}`] });

    const o = await signUp(emails.owner, 'Support Console Ltd');
    owner = o.c;
    orgId = o.orgId;
    // replay is a Growth feature: the operator moves the organisation there
    await tallyCli(tally.dataDir, ['tenant', 'set-plan', orgId, 'growth']);
    const created = (await owner.post(`/api/orgs/${orgId}/properties`, { name: 'Shop', domain: 'shop.support.test', timeZone: 'UTC' })).body.property;
    propertyId = created.id;
    const key = (await owner.post(`/api/properties/${propertyId}/keys`, { kind: 'ingest', name: 'server' })).body.secret;
    // six visitors two days ago, two pages each; the last two from a kiosk the rules will call a bot; c1 books a demo
    const events = ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].flatMap((c, i) => {
      const ua = i >= 4 ? `${DESKTOP_UA} AcmeKiosk/2.0` : DESKTOP_UA;
      const base = { client_id: c, user_agent: ua, referrer: i % 2 ? 'https://www.google.com/' : undefined };
      return [
        { ...base, name: 'page_view', event_id: `${c}-1`, timestamp: at(i * 3), url: 'https://shop.support.test/' },
        { ...base, name: 'page_view', event_id: `${c}-2`, timestamp: at(i * 3 + 1), url: `https://shop.support.test/${i >= 4 ? 'kiosk' : 'pricing'}` },
        ...(c === 'c1' ? [{ ...base, name: 'demo_booked', event_id: 'c1-3', timestamp: at(2), url: 'https://shop.support.test/pricing' }] : []),
      ];
    });
    const sent = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(sent.status, await sent.clone().text()).toBe(200);
    expect(((await sent.json()) as { accepted: number }).accepted).toBe(events.length);
    // one browser hit from a host the property does not list: a dead letter (hostname_not_allowed)
    const q = new URLSearchParams({ v: '2', tid: created.measurementId, cid: '777.888', en: 'page_view', dl: 'https://blog.elsewhere.test/post', _et: '100' });
    expect((await fetch(`${tally.baseUrl}/g/collect?${q}`, { headers: { 'user-agent': DESKTOP_UA } })).status).toBe(204);
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--full']);
    // the rules change after the data arrived: past days keep their numbers until a replay
    expect((await owner.patch(`/api/properties/${propertyId}/rules`, { botPatterns: [{ match: 'contains', value: 'AcmeKiosk' }] })).status).toBe(200);
    expect((await owner.patch(`/api/properties/${propertyId}`, { keyEvents: ['demo_booked'] })).status).toBe(200);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('the owner runs a dry run, reads its diff, runs it for real; another organisation sees none of it', async () => {
    const page = await logIn(emails.owner, new RegExp(`/p/${propertyId}`));
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Support' }).click();
    await page.waitForURL(new RegExp(`/p/${propertyId}/support`));
    await visitPage(page, SHOTS, a11y, 'support-replays-empty', () => page.getByText('No replays yet').waitFor());

    await page.getByLabel('From', { exact: true }).fill(day);
    await page.getByLabel('To', { exact: true }).fill(day);
    await page.getByLabel('Reason', { exact: true }).fill('ticket 13: kiosk traffic and the demo key event');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const result = page.getByTestId('support-replay').getByTestId('replay-result');
    await result.waitFor({ timeout: 120_000 });
    const row = result.locator('table.replay-diff').first().locator('tbody tr');
    expect(await row.count()).toBe(1);
    const cells = await row.first().locator('td').allInnerTexts();
    // date, users, sessions, views, bounce rate, key events
    expect(cells[0]).toBe(day);
    expect(cells[1]).toBe('6 → 4');
    expect(cells[2]).toBe('6 → 4');
    expect(cells[3]).toBe('12 → 8');
    expect(cells[5]).toBe('0 → 1');
    const movers = await page.getByTestId('replay-movers').locator('tbody tr').allInnerTexts();
    expect(
      movers.some((m) => m.includes('/kiosk') && m.includes('-2')),
      movers.join('\n'),
    ).toBe(true);
    await page.getByTestId('replay-list').getByText('ticket 13').waitFor();
    await visitPage(page, SHOTS, a11y, 'support-replay-diff');

    await page.getByRole('button', { name: 'Run for real' }).click();
    await page.getByText('Replayed: the reports now show the new numbers.').waitFor({ timeout: 120_000 });
    const listed = (await owner.get(`/api/properties/${propertyId}/replays`)).body.replays as { dryRun: boolean; state: string }[];
    expect(listed.map((r) => `${r.dryRun ? 'dry' : 'real'} ${r.state}`)).toEqual(['real succeeded', 'dry succeeded']);

    // tenant wall: another organisation's owner gets 404 for this property's replays and its replay
    const other = await signUp(`olly+${stamp}@support.test`, 'Other Ltd');
    expect((await other.c.get(`/api/properties/${propertyId}/replays`)).status).toBe(404);
  }, 300_000);

  it('dead letters by reason with a sample, and a redrive that reports what it did', async () => {
    const page = await logIn(emails.owner, new RegExp(`/p/${propertyId}`));
    await page.goto(`${tally.baseUrl}/p/${propertyId}/support/dead-letters`);
    const group = page.getByTestId('dead-letters').getByRole('region', { name: 'hostname_not_allowed' });
    await group.waitFor();
    expect(await group.locator('.badge').innerText()).toBe('1');
    await group.getByText('blog.elsewhere.test').first().waitFor();
    await group.getByRole('button', { name: 'Redrive' }).click();
    // the host is still not allowed: the redrive sends nothing and says so
    const said = await group.getByTestId('redrive-result').innerText();
    expect(said).toContain('Redrive of 1 letter: 0 sent again');
    expect(said).toContain('still refused: 1 hostname_not_allowed');
    // once the host is allowed, the same redrive sends it; a third one adds nothing
    const hosts = { allowedHostnames: ['shop.support.test', 'blog.elsewhere.test'] };
    expect((await owner.patch(`/api/properties/${propertyId}`, hosts)).status).toBe(200);
    await group.getByRole('button', { name: 'Redrive' }).click();
    await group.getByText('Redrive of 1 letter: 1 sent again').waitFor();
    await group.getByRole('button', { name: 'Redrive' }).click();
    await group.getByText('Redrive of 1 letter: 0 sent again, 1 already redriven').waitFor();
    await visitPage(page, SHOTS, a11y, 'support-dead-letters');
  }, 120_000);

  it('the visitor inspector shows raw events with their verdicts beside the sessions', async () => {
    const page = await logIn(emails.owner, new RegExp(`/p/${propertyId}`));
    await page.goto(`${tally.baseUrl}/p/${propertyId}/support/visitor`);
    await page.getByLabel('Visitor', { exact: true }).fill('c1');
    await page.getByLabel('From', { exact: true }).fill(day);
    await page.getByLabel('To', { exact: true }).fill(day);
    await page.getByRole('button', { name: 'Inspect' }).click();
    const found = page.getByTestId('visitor-inspection');
    await found.waitFor({ timeout: 60_000 });
    const rows = await found.locator('table.inspect-events tbody tr').allInnerTexts();
    expect(rows).toHaveLength(3);
    expect(
      rows.every((r) => r.includes('Counted')),
      rows.join('\n'),
    ).toBe(true);
    expect(rows.some((r) => r.includes('demo_booked'))).toBe(true);
    expect(await found.locator('.inspect-sessions li').count()).toBe(1);
    await visitPage(page, SHOTS, a11y, 'support-visitor');

    // the dead-lettered browser hit: its visitor's only event is a dead letter, with its reason
    await page.getByLabel('Visitor', { exact: true }).fill('777.888');
    await page.getByLabel('From', { exact: true }).fill('');
    await page.getByLabel('To', { exact: true }).fill('');
    await page.getByRole('button', { name: 'Inspect' }).click();
    await found.getByText('Dead letter').first().waitFor({ timeout: 60_000 });
  }, 180_000);

  it('a Free organisation sees the upgrade hint; a viewer gets the 403 page', async () => {
    const free = await signUp(emails.free, 'Free Ltd');
    const freeProperty = (await free.c.post(`/api/orgs/${free.orgId}/properties`, { name: 'Blog', domain: 'blog.free.test' })).body.property.id;
    const page = await logIn(emails.free, new RegExp(`/p/${freeProperty}`));
    await page.goto(`${tally.baseUrl}/p/${freeProperty}/support`);
    await page.getByLabel('Reason', { exact: true }).fill('try a replay on Free');
    await page.getByRole('button', { name: 'Dry run' }).click();
    const hint = page.getByTestId('replay-upgrade');
    await hint.waitFor();
    expect(await hint.getByRole('link', { name: 'Upgrade in Billing' }).getAttribute('href')).toBe(`/orgs/${free.orgId}/billing`);
    expect(await page.locator('.alert-error').count()).toBe(0);
    // the refused replay was not recorded; the Free organisation's list holds nothing of the other one's
    expect((await free.c.get(`/api/properties/${freeProperty}/replays`)).body).toEqual({ replays: [] });
    await page.getByText('No replays yet').waitFor();
    await visitPage(page, SHOTS, a11y, 'support-free-upgrade');

    await join(owner, orgId, emails.viewer, 'viewer');
    const viewer = await logIn(emails.viewer, /\/p\//);
    await viewer.goto(`${tally.baseUrl}/p/${propertyId}/support`);
    await viewer.getByTestId('support-forbidden').waitFor();
    expect(await viewer.getByRole('button', { name: 'Dry run' }).count()).toBe(0);
    await visitPage(viewer, SHOTS, a11y, 'support-viewer-403');

    expect(pageErrors).toEqual([]);
    expect(a11y, JSON.stringify(a11y, null, 2)).toEqual([]);
  }, 180_000);
});
