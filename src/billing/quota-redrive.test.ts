import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Stripe from 'stripe';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, stripeMockEnv } from '../../test/support/services.js';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { planEntitlements, registerPlan } from '../domain/plans.js';
import { rawDayPrefix } from '../domain/transformed-schema.js';
import { addDays } from '../domain/time-zone.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { setTenantPlan } from '../tenancy/tenant-admin.js';
import type { QuotaRedriveResult } from './quota-redrive.js';

/**
 * "After an upgrade the dead-lettered ones are re-driven and counted" (issue 12), on one embedded
 * process (collector, api with the Stripe webhook against stripe-mock, worker): a plan of 10
 * events a month and a hard cap of 20; GA4 MP events past the cap are dead-lettered
 * (`quota_exceeded`, 2xx). An upgrade webhook for tenant A makes the worker re-drive A's letters:
 * they are in the raw zone and in `usage_hourly` once, however often the redrive runs; tenant B,
 * on the same small plan, keeps its letters until `tally tenant set-plan` upgrades it too.
 */
describeWithService('quota_exceeded dead letters re-driven after an upgrade (stripe-mock)', 'stripe', 'STRIPE_API_BASE', () => {
  const env = stripeMockEnv()!;
  const stripe = new Stripe(env.secretKey);
  let tally: TallyHandle;
  let dir: string;
  let base: string;
  let a: CreatedTenant;
  let b: CreatedTenant;
  const today = new Date().toISOString().slice(0, 10);
  const month = today.slice(0, 7);

  const mp = (t: CreatedTenant, n: number, tag: string) =>
    fetch(`${base}/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ client_id: '7.8', events: Array.from({ length: n }, (_, i) => ({ name: 'level_up', params: { tag, i } })) }),
    }).then((r) => r.status);
  const usage = async (t: CreatedTenant) => {
    const [r] = await tally.db('usage_hourly').where({ property_id: t.propertyId }).sum({ events: 'events', dead: 'dead_letters' });
    return { events: Number(r.events ?? 0), deadLetters: Number(r.dead ?? 0) };
  };
  /** Every record of the property in the raw zone (today and yesterday, should the test straddle midnight): event ids. */
  const rawIds = async (t: CreatedTenant, zone: 'raw' | 'deadletter' = 'raw') => {
    const ids: string[] = [];
    for (const date of [addDays(today, -1), today]) {
      for (const o of await tally.store.list(rawDayPrefix({ zone, tenantId: t.organizationId, propertyId: t.propertyId }, date))) {
        const body = (await tally.store.get(o.key))!;
        const text = (o.key.endsWith('.gz') ? gunzipSync(body) : body).toString('utf8');
        for (const line of text.split('\n')) if (line) ids.push(zone === 'raw' ? JSON.parse(line).event_id : JSON.parse(line).reason);
      }
    }
    return ids;
  };
  const until = async (what: string, f: () => Promise<boolean>, ms = 90_000) => {
    const end = Date.now() + ms;
    while (!(await f())) {
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  };
  const webhook = async (orgId: string, planId: string) => {
    const payload = JSON.stringify({
      id: `evt_redrive_${orgId}_${Date.now()}`,
      object: 'event',
      type: 'customer.subscription.updated',
      created: Math.floor(Date.now() / 1000),
      api_version: '2025-09-30.clover',
      data: {
        object: {
          id: `sub_${orgId}`,
          object: 'subscription',
          customer: `cus_${orgId}`,
          status: 'active',
          cancel_at_period_end: false,
          metadata: { tally_organization_id: orgId, tally_plan_id: planId },
          items: { data: [{ price: { id: `price_${planId}` }, current_period_end: Math.floor(Date.now() / 1000) + 30 * 86_400 }] },
        },
      },
    });
    const signature = stripe.webhooks.generateTestHeaderString({ payload, secret: env.webhookSecret });
    const r = await fetch(`${base}/webhooks/stripe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': signature },
      body: payload,
    });
    return r.status;
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-quota-redrive-'));
    const config = loadConfig({
      TALLY_DATA_DIR: dir,
      PORT: '0',
      TALLY_TRANSFORM_INTERVAL_MS: '3600000',
      STRIPE_SECRET_KEY: env.secretKey,
      STRIPE_API_BASE: env.apiBase,
      STRIPE_WEBHOOK_SECRET: env.webhookSecret,
    });
    tally = await startTally(config, ['collector', 'api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    base = `http://127.0.0.1:${tally.port}`;
    registerPlan({ ...planEntitlements('free'), planId: 'redrive-tiny', name: 'Tiny', monthlyEvents: 10, hardCapFactor: 2 });
    await tally.db('plans').insert({ id: 'redrive-tiny' });
    a = await createTenant(tally.db, { name: 'Tiny A', email: 'owner@tiny-a.test', domain: 'a.tiny.test', planId: 'redrive-tiny' });
    b = await createTenant(tally.db, { name: 'Tiny B', email: 'owner@tiny-b.test', domain: 'b.tiny.test', planId: 'redrive-tiny' });
    await tally.credentials.refresh();
    // 18 events admitted (8 of them over the plan's 10, flagged), then 6 + 3 past the hard cap of 20: dead letters, 2xx
    for (const t of [a, b]) {
      for (const [i, n] of [6, 6, 6, 6, 3].entries()) expect(await mp(t, n, `r${i}`), `${t.organizationId} request ${i}`).toBeLessThan(300);
    }
    await until('usage of the accepted events', async () => (await usage(a)).events === 18 && (await usage(b)).events === 18, 30_000);
  }, 120_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('an upgrade webhook re-drives the tenant’s quota_exceeded letters: in the raw zone and in usage once, however often it runs; the other tenant keeps its own', async () => {
    expect(await usage(a)).toEqual({ events: 18, deadLetters: 9 });
    expect(await webhook(a.organizationId, 'growth')).toBe(200);
    expect((await tally.db('organizations').where({ id: a.organizationId }).first('plan_id')).plan_id).toBe('growth');

    // the worker sees the plan change, queues A's quota-redrive job, which waits for the archiver and re-drives
    await until('the re-driven events in usage', async () => (await usage(a)).events === 27);
    expect(await tally.db('plan_changes').where({ organization_id: a.organizationId })).toMatchObject([
      { from_plan_id: 'redrive-tiny', to_plan_id: 'growth', handled_at: expect.any(Date) },
    ]);
    expect((await tally.db('redriven_letters').where({ property_id: a.propertyId })).length).toBe(9);
    const letters = await rawIds(a, 'deadletter');
    expect(letters).toEqual(Array(9).fill('quota_exceeded'));

    // a second run (and a third) appends nothing and counts nothing
    for (let i = 0; i < 2; i++) {
      const again = (await tally.runJob('quota-redrive', { organizationId: a.organizationId, month }, () => undefined)) as QuotaRedriveResult;
      expect(again).toMatchObject({ organizationId: a.organizationId, month, properties: 1, letters: 9, appended: 0, alreadyRedriven: 9 });
    }
    await tally.runJob('pipeline', { propertyId: a.propertyId }, () => undefined); // archives what the log holds
    const ids = await rawIds(a);
    expect(ids).toHaveLength(27);
    expect(new Set(ids).size).toBe(27);
    expect(await usage(a)).toEqual({ events: 27, deadLetters: 9 });

    // B, on the same plan, was not touched
    expect(await usage(b)).toEqual({ events: 18, deadLetters: 9 });
    expect(await tally.db('redriven_letters').where({ property_id: b.propertyId })).toEqual([]);
    await tally.runJob('pipeline', { propertyId: b.propertyId }, () => undefined);
    expect(await rawIds(b)).toHaveLength(18);
  }, 150_000);

  it('`tally tenant set-plan` (a plan change on the database) re-drives too; a downgrade queues nothing', async () => {
    await setTenantPlan(tally.db, b.organizationId, 'growth');
    await until("B's re-driven events in usage", async () => (await usage(b)).events === 27);
    await tally.runJob('pipeline', { propertyId: b.propertyId }, () => undefined);
    expect(new Set(await rawIds(b)).size).toBe(27);

    await setTenantPlan(tally.db, b.organizationId, 'redrive-tiny');
    await until(
      'the downgrade handled',
      async () => !(await tally.db('plan_changes').where({ organization_id: b.organizationId }).whereNull('handled_at').first()),
    );
    expect((await tally.db('redriven_letters').where({ property_id: b.propertyId })).length).toBe(9);
    expect(await usage(b)).toEqual({ events: 27, deadLetters: 9 });
  }, 150_000);
});
