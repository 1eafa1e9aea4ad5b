import { CHROMIUM_ARGS, DESKTOP_UA } from '../support/chromium.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService } from '../support/services.js';
import { startTally, type TallyProcess } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import type { CookieClient } from '../support/cookie-client.js';
import { visitPage, type A11yFinding } from '../support/console-visit.js';
import { consoleAccounts } from '../support/console-accounts.js';

/**
 * Settings › Custom definitions in the console (issue 14; embedded profile, Chromium): an owner
 * whose events of two days ago carry a `shipping_tier` parameter and a `loyalty` user property
 * creates a custom dimension over the parameter; it appears in the list, in the GA4 metadata, and a
 * report by it answers (the tab's preview and the API alike); a duplicate is refused with the
 * API's reason in words; the owner renames it; a viewer sees no Create button and the API refuses
 * the viewer; archiving hides it from the list, the metadata and reports. Screenshots at 1280 and
 * 375 px into test-results/console/custom-definitions-*.png.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results/console');
const PASSWORD = 'custom definitions password';

describeWithService('console custom definitions (Chromium)', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  let tally: TallyProcess;
  let browser: Browser;
  let owner: CookieClient;
  let orgId = '';
  let propertyId = '';
  const stamp = Date.now();
  const emails = { owner: `cora+${stamp}@defs.test`, viewer: `vic+${stamp}@defs.test` };
  const a11y: A11yFinding[] = [];
  const pageErrors: string[] = [];
  const day = new Date(Date.now() - 2 * 86_400_000).toISOString().slice(0, 10);
  const at = (minute: number) => Date.parse(`${day}T10:00:00Z`) + minute * 60_000;
  const { signUp, join } = consoleAccounts(() => tally, PASSWORD);

  async function logIn(email: string): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    page.on('pageerror', (e) => pageErrors.push(`${email}: ${e.message}`));
    await page.goto(`${tally.baseUrl}/login`);
    await page.getByLabel('E-mail').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.waitForURL(/\/p\//);
    return page;
  }
  const metadataNames = async () => {
    const r = await owner.get(`/v1beta/properties/${propertyId}/metadata`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return (r.body.dimensions as { apiName: string }[]).map((d) => d.apiName);
  };
  const reportByTier = () =>
    owner.post(`/v1beta/properties/${propertyId}:runReport`, {
      dateRanges: [{ startDate: day, endDate: day }],
      dimensions: [{ name: 'customEvent:shipping_tier' }],
      metrics: [{ name: 'eventCount' }],
    });

  beforeAll(async () => {
    if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html')))
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
    fs.mkdirSync(SHOTS, { recursive: true });
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '86400000' } });
    browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${DESKTOP_UA}`] });
    const o = await signUp(emails.owner, 'Definitions Ltd');
    owner = o.c;
    orgId = o.orgId;
    propertyId = (await owner.post(`/api/orgs/${orgId}/properties`, { name: 'Shop', domain: 'shop.defs.test', timeZone: 'UTC' })).body.property.id;
    const key = (await owner.post(`/api/properties/${propertyId}/keys`, { kind: 'ingest', name: 'server' })).body.secret;
    // three purchases (two express, one standard) and a page view without the parameter
    const tiers = ['express', 'express', 'standard'];
    const events = [
      ...tiers.map((tier, i) => ({
        name: 'purchase',
        client_id: `c${i}`,
        event_id: `p${i}`,
        timestamp: at(i),
        url: 'https://shop.defs.test/checkout',
        user_agent: DESKTOP_UA,
        params: { shipping_tier: tier },
        user_props: { loyalty: i ? 'silver' : 'gold' },
      })),
      { name: 'page_view', client_id: 'c0', event_id: 'v0', timestamp: at(5), url: 'https://shop.defs.test/', user_agent: DESKTOP_UA },
    ];
    const sent = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ events }),
    });
    expect(sent.status, await sent.clone().text()).toBe(200);
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--full']);
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    await tally?.stop();
  });

  it('an owner creates a custom dimension: listed, in the metadata, and a report by it answers; a duplicate is refused by its reason', async () => {
    const page = await logIn(emails.owner);
    await page.goto(`${tally.baseUrl}/p/${propertyId}/settings`);
    await page.getByRole('link', { name: 'Custom definitions' }).click();
    await page.waitForURL(new RegExp(`/p/${propertyId}/settings/custom-definitions`));
    await visitPage(page, SHOTS, a11y, 'custom-definitions-empty', () => page.getByText('No custom definitions yet').waitFor());
    expect(await metadataNames()).not.toContain('customEvent:shipping_tier');
    expect((await reportByTier()).status).toBe(400);

    await page.getByRole('button', { name: 'Create definition' }).click();
    const form = page.getByTestId('definition-form');
    await form.getByLabel('Event parameter').fill('shipping_tier');
    await form.getByLabel('Display name').fill('Shipping tier');
    await form.getByLabel('Description (optional)').fill('How the order ships');
    await visitPage(page, SHOTS, a11y, 'custom-definitions-create');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.getByText('Shipping tier created').waitFor();
    const row = page.locator('tr[data-definition="shipping_tier"]');
    expect(await row.locator('.definition-name').innerText()).toBe('Shipping tier');
    expect(await row.locator('code').innerText()).toBe('customEvent:shipping_tier');

    // the metadata lists it and a report by it answers, through the API and the tab's preview
    expect(await metadataNames()).toContain('customEvent:shipping_tier');
    const r = await reportByTier();
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const counts = Object.fromEntries(
      (r.body.rows as { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[]).map((x) => [
        x.dimensionValues[0].value,
        x.metricValues[0].value,
      ]),
    );
    expect(counts).toMatchObject({ express: '2', standard: '1' });
    await row.getByRole('button', { name: 'Preview Shipping tier' }).click();
    const preview = page.getByTestId('definition-preview');
    await preview.waitFor({ timeout: 30_000 });
    const items = await preview.locator('li').allInnerTexts();
    expect(
      items.some((t) => t.includes('express') && t.includes('2')),
      items.join('\n'),
    ).toBe(true);
    await visitPage(page, SHOTS, a11y, 'custom-definitions-list');

    // the same parameter again: refused, worded by the API's reason
    await page.getByRole('button', { name: 'Create definition' }).click();
    await form.getByLabel('Event parameter').fill('shipping_tier');
    await form.getByLabel('Display name').fill('Tier again');
    await form.getByRole('button', { name: 'Create' }).click();
    const refused = form.locator('[role="alert"][data-reason="custom_definition_exists"]');
    await refused.waitFor();
    expect(await refused.innerText()).toMatch(/already has an active definition/);
    await visitPage(page, SHOTS, a11y, 'custom-definitions-refused');
    await form.getByRole('button', { name: 'Cancel' }).click();

    // a user-scoped one, then a rename
    await page.getByRole('button', { name: 'Create definition' }).click();
    await form.getByLabel('Scope').selectOption('USER');
    await form.getByLabel('User property').fill('loyalty');
    await form.getByLabel('Display name').fill('Loyalty');
    await form.getByRole('button', { name: 'Create' }).click();
    await page.locator('tr[data-definition="loyalty"]').waitFor();
    expect(await page.locator('tr[data-definition="loyalty"] code').innerText()).toBe('customUser:loyalty');
    await row.getByRole('button', { name: 'Edit Shipping tier' }).click();
    await form.getByLabel('Display name').fill('Delivery tier');
    await form.getByRole('button', { name: 'Save' }).click();
    await page.getByText('Delivery tier saved.').waitFor();
    expect(await row.locator('.definition-name').innerText()).toBe('Delivery tier');
  }, 180_000);

  it('a viewer reads the list but cannot create; the API refuses the viewer too', async () => {
    const viewerApi = await join(owner, orgId, emails.viewer, 'viewer');
    const page = await logIn(emails.viewer);
    await page.goto(`${tally.baseUrl}/p/${propertyId}/settings/custom-definitions`);
    await page.locator('tr[data-definition="shipping_tier"]').waitFor();
    expect(await page.getByRole('button', { name: 'Create definition' }).count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Archive/ }).count()).toBe(0);
    await page.getByText('Your role can read custom definitions').waitFor();
    await visitPage(page, SHOTS, a11y, 'custom-definitions-viewer');
    const r = await viewerApi.post(`/api/properties/${propertyId}/custom-definitions`, {
      kind: 'dimension',
      scope: 'EVENT',
      parameterName: 'coupon',
      displayName: 'Coupon',
    });
    expect(r.status).toBe(403);
    expect(r.body.error.reason).toBe('role');
  }, 120_000);

  it('archiving hides it from the list, the metadata and reports', async () => {
    const page = await logIn(emails.owner);
    await page.goto(`${tally.baseUrl}/p/${propertyId}/settings/custom-definitions`);
    const row = page.locator('tr[data-definition="shipping_tier"]');
    await row.getByRole('button', { name: 'Archive Delivery tier' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Archive' }).click();
    await page.getByText('Delivery tier archived').waitFor();
    await expect.poll(() => row.count()).toBe(0);
    // listed apart, under a closed "1 archived definition"
    await page.getByText('1 archived definition').click();
    expect(await page.getByTestId('archived-definitions').locator('li').allInnerTexts()).toEqual([expect.stringContaining('Delivery tier')]);
    expect(await metadataNames()).not.toContain('customEvent:shipping_tier');
    expect(await metadataNames()).toContain('customUser:loyalty');
    expect((await reportByTier()).status).toBe(400);
    await visitPage(page, SHOTS, a11y, 'custom-definitions-archived');

    expect(pageErrors).toEqual([]);
    expect(a11y, JSON.stringify(a11y, null, 2)).toEqual([]);
  }, 120_000);
});
