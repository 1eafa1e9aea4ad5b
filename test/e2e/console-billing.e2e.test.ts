import { CHROMIUM_ARGS, DESKTOP_UA } from '../support/chromium.js';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Stripe from 'stripe';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, stripeMockEnv } from '../support/services.js';
import { eventually, startTally, tempDataDir, type TallyProcess } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { CookieClient } from '../support/cookie-client.js';
import { visitPage, type A11yFinding } from '../support/console-visit.js';
import { consoleAccounts } from '../support/console-accounts.js';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';

/**
 * Issue 12, the billing portal in the console: Tally (`serve`, PostgreSQL metadata) with Stripe
 * pointed at stripe-mock. The owner sees plan, status, this month's usage chart and the invoices,
 * and an Upgrade click navigates to the Checkout URL stripe-mock answered; an admin sees the page
 * read-only; a viewer has no Billing entry and gets the 403 page; a failed payment (a signed
 * webhook) puts the payment banner on every page. Screenshots at 1280 and 375 px into
 * test-results/console/billing-*.png, axe-core on each page.
 */
const ROOT = path.resolve(import.meta.dirname, '../..');
const SHOTS = path.join(ROOT, 'test-results/console');
const PASSWORD = 'billing console password';

describeWithService('console billing page (Chromium, stripe-mock)', 'chromium', 'CHROMIUM_PATH', (executablePath) => {
  describeWithService('with Stripe', 'stripe', 'STRIPE_API_BASE', () => {
    describeWithService('on PostgreSQL', 'postgres', 'DATABASE_URL', (databaseUrl) => {
      const stripeEnv = stripeMockEnv()!;
      const stripe = new Stripe(stripeEnv.secretKey);
      let metaDb: Awaited<ReturnType<typeof createTestDatabase>>;
      let tally: TallyProcess;
      let browser: Browser;
      let owner: CookieClient;
      let orgId = '';
      let propertyId = '';
      const stamp = Date.now();
      const emails = { owner: `olga+${stamp}@billing.test`, admin: `adam+${stamp}@billing.test`, viewer: `vera+${stamp}@billing.test` };
      const a11y: A11yFinding[] = [];
      const pageErrors: string[] = [];
      const EVENTS = 37;

      const { signUp, join: joinOrg } = consoleAccounts(() => tally, PASSWORD);
      const join = (email: string, role: 'admin' | 'viewer') => joinOrg(owner, orgId, email, role);

      async function webhook(type: string, object: Record<string, unknown>) {
        const payload = JSON.stringify({
          id: `evt_console_${type}_${Date.now()}`,
          object: 'event',
          type,
          created: Math.floor(Date.now() / 1000),
          data: { object },
        });
        const r = await fetch(`${tally.baseUrl}/webhooks/stripe`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'stripe-signature': stripe.webhooks.generateTestHeaderString({ payload, secret: stripeEnv.webhookSecret }),
          },
          body: payload,
        });
        expect(await r.json()).toMatchObject({ received: true, outcome: 'applied' });
      }

      async function logIn(email: string): Promise<Page> {
        const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
        const page = await context.newPage();
        page.on('pageerror', (e) => pageErrors.push(`${email}: ${e.message}`));
        await page.goto(`${tally.baseUrl}/login`);
        await page.getByLabel('E-mail').fill(email);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Log in' }).click();
        await page.waitForURL(new RegExp(`/p/${propertyId}`));
        return page;
      }

      beforeAll(async () => {
        if (!fs.existsSync(path.join(ROOT, 'web/dist/index.html')))
          execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
        fs.mkdirSync(SHOTS, { recursive: true });
        metaDb = await createTestDatabase(databaseUrl, 'console_billing');
        const env = {
          DATABASE_URL: metaDb.url,
          STRIPE_API_BASE: stripeEnv.apiBase,
          STRIPE_SECRET_KEY: stripeEnv.secretKey,
          STRIPE_WEBHOOK_SECRET: stripeEnv.webhookSecret,
        };
        // the plans' Stripe prices, as an operator creates them once (Checkout needs them)
        await tallyCli(tempDataDir('tally-cli-'), ['billing', 'sync-plans'], env);
        tally = await startTally({ env });
        browser = await chromium.launch({ executablePath, args: [...CHROMIUM_ARGS, `--user-agent=${DESKTOP_UA}`] });

        const o = await signUp(emails.owner, 'Billing Console Ltd');
        owner = o.c;
        orgId = o.orgId;
        propertyId = (await owner.post(`/api/orgs/${orgId}/properties`, { name: 'Shop', domain: 'shop.billing.test' })).body.property.id;
        const key = (await owner.post(`/api/properties/${propertyId}/keys`, { kind: 'ingest', name: 'server' })).body.secret;
        const sent = await fetch(`${tally.baseUrl}/v1/collect`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body: JSON.stringify({ events: Array.from({ length: EVENTS }, (_, i) => ({ name: 'page_view', client_id: `c${i % 5}`, event_id: `b-${i}` })) }),
        });
        expect(sent.status).toBe(200);
        // the usage meter writes usage_hourly every few seconds
        await eventually(
          async () => ((await owner.get(`/api/orgs/${orgId}/billing`)).body.usage?.total >= EVENTS ? true : undefined),
          30_000,
          'the usage meter',
        );
      }, 240_000);

      afterAll(async () => {
        await browser?.close();
        await tally?.stop();
        await metaDb?.drop();
      });

      it('the owner sees plan, usage chart and invoices; Upgrade navigates to the Checkout URL stripe-mock answered', async () => {
        const page = await logIn(emails.owner);
        const billingLink = page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' });
        expect(await billingLink.getAttribute('href')).toBe(`/orgs/${orgId}/billing`);
        await billingLink.click();
        await page.getByTestId('billing-plan').waitFor();
        expect(await page.getByTestId('billing-plan').innerText()).toBe('Free');
        expect(await page.getByTestId('billing-status').innerText()).toBe('Active');
        expect(Number(await page.getByTestId('billing-used').getAttribute('data-value'))).toBe(EVENTS);
        expect(Number(await page.getByTestId('billing-projected').getAttribute('data-value'))).toBeGreaterThanOrEqual(EVENTS);
        await page.getByTestId('billing-chart').locator('canvas').waitFor();
        expect(await page.getByTestId('billing-chart').locator('[role=img]').getAttribute('aria-label')).toMatch(/^Events this month per day/);
        await page.getByText('No invoices yet').waitFor();

        // Stripe's hosted page is not served by stripe-mock: record the navigation and answer it here
        const navigations: string[] = [];
        await page.route(
          (url) => url.origin !== new URL(tally.baseUrl).origin,
          (route) => {
            if (route.request().isNavigationRequest()) navigations.push(route.request().url());
            return route.fulfill({ status: 200, contentType: 'text/html', body: '<!doctype html><title>Checkout</title><h1>Checkout</h1>' });
          },
        );
        // the API's answer passes through unchanged; the test keeps a copy (the page navigates away at once)
        let answered: { status: number; url: string } | null = null;
        await page.route(`**/api/orgs/${orgId}/billing/checkout`, async (route) => {
          const response = await route.fetch();
          answered = { status: response.status(), url: ((await response.json()) as { url: string }).url };
          await route.fulfill({ response });
        });
        await page.getByRole('button', { name: 'Upgrade to Growth' }).click();
        await expect.poll(() => navigations.length, { timeout: 15_000 }).toBe(1);
        expect(answered!.status).toBe(200);
        const url = answered!.url;
        expect(url).toMatch(/^https:\/\//);
        await page.waitForURL(url);
        expect(navigations).toEqual([url]);
        await page.unroute(() => true);

        // the customer now exists at Stripe: its invoices (stripe-mock's fixtures) are listed
        await page.goto(`${tally.baseUrl}/orgs/${orgId}/billing?checkout=canceled`);
        await page.getByTestId('invoices').locator('tbody tr').first().waitFor();
        await page.getByText('Checkout was canceled').waitFor();
        expect(await page.getByRole('button', { name: 'Manage billing' }).isEnabled()).toBe(true);
        await visitPage(page, SHOTS, a11y, 'billing-owner');
        await page.context().close();
      }, 120_000);

      it('an admin sees the page read-only; a viewer has no Billing entry and gets the 403 page', async () => {
        const admin = await join(emails.admin, 'admin');
        const viewer = await join(emails.viewer, 'viewer');
        // the API agrees with the page: invoices and checkout are owners'
        expect((await admin.get(`/api/orgs/${orgId}/billing/invoices`)).status).toBe(403);
        expect((await viewer.post(`/api/orgs/${orgId}/billing/checkout`, { planId: 'growth' })).status).toBe(403);

        const a = await logIn(emails.admin);
        await a.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).click();
        await a.getByTestId('billing-plan').waitFor();
        await a.getByText('this page is read-only').waitFor();
        expect(await a.getByRole('button', { name: 'Upgrade to Growth' }).isDisabled()).toBe(true);
        expect(await a.getByRole('button', { name: 'Manage billing' }).isDisabled()).toBe(true);
        expect(await a.getByRole('button', { name: 'Upgrade to Growth' }).getAttribute('aria-describedby')).toBe('billing-plans-reason');
        await a.getByText('Invoices are shown to owners.').waitFor();
        await visitPage(a, SHOTS, a11y, 'billing-admin');
        await a.context().close();

        const v = await logIn(emails.viewer);
        await v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).waitFor();
        expect(await v.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Billing' }).count()).toBe(0);
        await v.goto(`${tally.baseUrl}/orgs/${orgId}/billing`);
        await v.getByTestId('billing-forbidden').waitFor();
        await visitPage(v, SHOTS, a11y, 'billing-viewer-403');
        await v.context().close();
      }, 120_000);

      it('a failed payment (signed webhook) shows the payment banner across the console, linking to Billing', async () => {
        const meta = { tally_organization_id: orgId, tally_plan_id: 'growth' };
        await webhook('customer.subscription.created', {
          id: `sub_${orgId}`,
          object: 'subscription',
          customer: `cus_console_${orgId}`,
          status: 'active',
          cancel_at_period_end: false,
          metadata: meta,
          items: { data: [{ price: { id: 'price_growth' }, current_period_end: Math.floor(Date.now() / 1000) + 30 * 86_400 }] },
        });
        await webhook('invoice.payment_failed', {
          id: `in_console_${orgId}`,
          object: 'invoice',
          customer: `cus_console_${orgId}`,
          parent: { subscription_details: { metadata: meta } },
        });
        const page = await logIn(emails.owner);
        const banner = page.getByTestId('billing-banner');
        await banner.waitFor();
        await page.waitForSelector('html[data-widgets-filled="1"]');
        expect(await banner.innerText()).toMatch(/A payment failed\. Reports stay open until .* \(grace period\)/);
        await visitPage(page, SHOTS, a11y, 'billing-banner-dashboard');
        await banner.getByRole('link', { name: 'Open billing' }).click();
        await page.waitForURL(new RegExp(`/orgs/${orgId}/billing$`));
        expect(await page.getByTestId('billing-plan').innerText()).toBe('Growth');
        expect(await page.getByTestId('billing-status').innerText()).toBe('Past due');
        await visitPage(page, SHOTS, a11y, 'billing-past-due');
        await page.context().close();

        expect(pageErrors).toEqual([]);
        expect(a11y, JSON.stringify(a11y, null, 2)).toEqual([]);
      }, 120_000);
    });
  });
});
