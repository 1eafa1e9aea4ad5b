import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Stripe from 'stripe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, stripeMockEnv } from '../../test/support/services.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { createLogger } from '../infra/logger.js';
import { OutboxMailer, readOutbox } from '../infra/mailer/outbox.mailer.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { stripeProvider } from './stripe.provider.js';
import { createStripeWebhookRouter } from './webhook.router.js';
import { EntitlementsReader, readEntitlements } from './entitlements.js';
import { BillingService } from './billing.service.js';

const DAY = 86_400_000;

describeWithService('Stripe webhooks, checkout and the billing gates (stripe-mock)', 'stripe', 'STRIPE_API_BASE', () => {
  const env = stripeMockEnv()!;
  const settings = { secretKey: env.secretKey, apiBase: new URL(env.apiBase), webhookSecret: env.webhookSecret, meterEventName: 'tally_events' };
  const stripe = new Stripe(env.secretKey);
  let dir: string;
  let db: Db;
  let server: http.Server;
  let base: string;
  let outbox: string;
  const operator = { kind: 'operator' as const };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-billing-'));
    db = await openDb({ dataDir: dir });
    outbox = path.join(dir, 'outbox');
    const app = express();
    app.use(
      createStripeWebhookRouter({
        db,
        provider: stripeProvider(settings),
        log: createLogger('silent'),
        mailer: new OutboxMailer(outbox, 'Tally <t@t.test>'),
        graceDays: 7,
      }),
    );
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((r) => server?.close(() => r()));
    await db?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function org(name: string): Promise<string> {
    const service = new TenancyService(db);
    const owner = await service.createUser({ email: `${name}@billing.test`, password: 'billing test password 1', verified: true });
    return (await service.createOrg(operator, { name, ownerId: owner.id })).id;
  }

  let seq = 0;
  function event(type: string, created: number, object: Record<string, unknown>, id = `evt_test_${++seq}_${Date.now()}`) {
    return { id, object: 'event', type, created, api_version: '2025-09-30.clover', data: { object } };
  }
  const subscription = (orgId: string, planId: string, status: string, extra: Record<string, unknown> = {}) => ({
    id: `sub_${orgId}`,
    object: 'subscription',
    customer: `cus_${orgId}`,
    status,
    cancel_at_period_end: false,
    metadata: { tally_organization_id: orgId, tally_plan_id: planId },
    items: { data: [{ price: { id: `price_${planId}` }, current_period_end: Math.floor(Date.now() / 1000) + 30 * 86_400 }] },
    ...extra,
  });

  async function post(body: unknown, signature: string | null = 'sign') {
    const payload = JSON.stringify(body);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature === 'sign') headers['stripe-signature'] = stripe.webhooks.generateTestHeaderString({ payload, secret: env.webhookSecret });
    else if (signature) headers['stripe-signature'] = signature;
    const r = await fetch(`${base}/webhooks/stripe`, { method: 'POST', headers, body: payload });
    return { status: r.status, body: (await r.json()) as any };
  }
  const planOf = async (orgId: string) => (await db('organizations').where({ id: orgId }).first('plan_id')).plan_id;

  it('a missing or bad signature is 400 and changes nothing', async () => {
    const o = await org('unsigned');
    const e = event('customer.subscription.updated', 1_800_000_000, subscription(o, 'growth', 'active'));
    expect(await post(e, null)).toMatchObject({ status: 400, body: { error: { reason: 'bad_signature' } } });
    const payload = JSON.stringify(e);
    const forged = stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_the_secret' });
    expect(await post(e, forged)).toMatchObject({ status: 400, body: { error: { reason: 'bad_signature' } } });
    expect(await planOf(o)).toBe('free');
    expect(await db('billing_webhook_events').where({ id: e.id }).first()).toBeUndefined();
  });

  it('an upgrade applies once: the same event twice is applied once', async () => {
    const o = await org('upgrade');
    const e = event('customer.subscription.created', 1_800_000_000, subscription(o, 'growth', 'active'));
    expect((await post(e)).body).toEqual({ received: true, outcome: 'applied' });
    expect(await planOf(o)).toBe('growth');
    // the owner downgrades in between; a redelivery of the old event must not upgrade again
    await db('organizations').where({ id: o }).update({ plan_id: 'free' });
    expect((await post(e)).body).toEqual({ received: true, outcome: 'duplicate' });
    expect(await planOf(o)).toBe('free');
    const [{ n }] = await db('billing_webhook_events').where({ id: e.id }).count({ n: '*' });
    expect(Number(n)).toBe(1);
  });

  it('an older subscription.updated after a newer one is ignored', async () => {
    const o = await org('ordering');
    const newer = event('customer.subscription.updated', 1_800_000_100, subscription(o, 'scale', 'active'));
    const older = event('customer.subscription.updated', 1_800_000_050, subscription(o, 'growth', 'active'));
    expect((await post(newer)).body.outcome).toBe('applied');
    expect((await post(older)).body.outcome).toBe('stale');
    expect(await planOf(o)).toBe('scale');
  });

  it('the organisation is found by customer id when the object carries no metadata', async () => {
    const o = await org('bycustomer');
    await post(event('customer.subscription.created', 1_800_000_000, subscription(o, 'growth', 'active')));
    const bare = { ...subscription(o, 'scale', 'active'), metadata: {} };
    await db('plans').where({ id: 'scale' }).update({ stripe_price_id: 'price_scale' });
    expect((await post(event('customer.subscription.updated', 1_800_000_010, bare))).body.outcome).toBe('applied');
    expect(await planOf(o)).toBe('scale');
  });

  it('payment failed → grace → reports gated (403 naming billing) → invoice.paid → open again; ingest limits unchanged', async () => {
    const o = await org('dunning');
    await post(event('customer.subscription.created', 1_800_000_000, subscription(o, 'growth', 'active')));
    const failedAt = 1_800_000_500;
    const invoice = { id: 'in_1', object: 'invoice', customer: `cus_${o}`, parent: { subscription_details: { metadata: { tally_organization_id: o } } } };
    expect((await post(event('invoice.payment_failed', failedAt, invoice))).body.outcome).toBe('applied');
    const grace = 7 * DAY;
    const during = await readEntitlements(db, o, grace, failedAt * 1000 + 6 * DAY);
    expect(during?.billing).toMatchObject({ status: 'past_due', readGated: false });
    expect(during?.planId).toBe('growth'); // ingest keeps the plan's limits
    const after = new EntitlementsReader(db, { graceMs: grace, now: () => failedAt * 1000 + 8 * DAY });
    await expect(after.assertReadAllowed(o)).rejects.toMatchObject({ code: 'permission_denied', message: expect.stringMatching(/^Billing/) });
    expect(readOutbox(outbox).some((m) => m.to === 'dunning@billing.test' && /payment failed/.test(m.subject))).toBe(true);

    expect((await post(event('invoice.paid', failedAt + 9 * 86_400, invoice))).body.outcome).toBe('applied');
    const paid = new EntitlementsReader(db, { graceMs: grace, now: () => failedAt * 1000 + 9 * DAY });
    await expect(paid.assertReadAllowed(o)).resolves.toBeUndefined();
    expect((await readEntitlements(db, o, grace))?.billing).toMatchObject({ status: 'active', paymentFailedAt: null });
  });

  it('a canceled subscription (deleted at period end) moves the organisation to the free plan', async () => {
    const o = await org('cancel');
    await post(event('customer.subscription.created', 1_800_000_000, subscription(o, 'growth', 'active')));
    await post(event('customer.subscription.updated', 1_800_000_100, subscription(o, 'growth', 'active', { cancel_at_period_end: true })));
    expect(await planOf(o)).toBe('growth');
    expect((await post(event('customer.subscription.deleted', 1_800_000_200, subscription(o, 'growth', 'canceled')))).body.outcome).toBe('applied');
    expect(await planOf(o)).toBe('free');
  });

  it('checkout creates the Stripe customer once, lazily, and answers a Checkout URL; the portal a portal URL', async () => {
    const o = await org('checkout');
    await db('plans').where({ id: 'growth' }).update({ stripe_price_id: 'price_growth_flat', stripe_overage_price_id: 'price_growth_overage' });
    const provider = stripeProvider(settings);
    const service = new BillingService({ db, provider, entitlements: new EntitlementsReader(db, { graceMs: 7 * DAY }), publicUrl: 'http://console.test' });
    expect(await db('billing_accounts').where({ organization_id: o }).first()).toBeUndefined();
    const { url } = await service.checkout(o, 'growth');
    expect(url).toMatch(/^https?:\/\//);
    const customer = (await db('billing_accounts').where({ organization_id: o }).first()).stripe_customer_id;
    expect(customer).toMatch(/^cus_/);
    expect((await service.portal(o)).url).toMatch(/^https?:\/\//);
    expect((await db('billing_accounts').where({ organization_id: o }).first()).stripe_customer_id).toBe(customer);
    await expect(service.checkout(o, 'free')).rejects.toMatchObject({ code: 'unprocessable' });
  });
});
