import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithService, stripeMockEnv } from '../../test/support/services.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { createLogger } from '../infra/logger.js';
import { OutboxMailer, readOutbox } from '../infra/mailer/outbox.mailer.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { stripeProvider } from './stripe.provider.js';
import { meterIdentifier, reconcile, reportUsage, syncPlans } from './usage-report.js';
import { QuotaNotifier } from './quota-notices.js';

/**
 * The meter job against stripe-mock, through a recording proxy (stripe-mock is stateless, so what
 * was sent is read off the wire): each hour is sent once per run that has not recorded it, with
 * its `{orgId}-{hour}` identifier as the meter event identifier and the Idempotency-Key.
 */
describeWithService('usage meter events, reconcile, sync-plans (stripe-mock)', 'stripe', 'STRIPE_API_BASE', () => {
  const env = stripeMockEnv()!;
  let dir: string;
  let db: Db;
  let proxy: http.Server;
  const sent: { path: string; body: string; idempotencyKey: string | undefined }[] = [];
  let provider: ReturnType<typeof stripeProvider>;
  let orgId: string;
  const NOW = Date.UTC(2026, 11, 6, 12, 30);
  const operator = { kind: 'operator' as const };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-meter-'));
    db = await openDb({ dataDir: dir });
    const upstream = new URL(env.apiBase);
    proxy = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        if (req.method === 'POST') sent.push({ path: req.url!, body: body.toString(), idempotencyKey: req.headers['idempotency-key'] as string | undefined });
        const up = http.request(
          { host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: { ...req.headers, host: upstream.host } },
          (r) => {
            res.writeHead(r.statusCode!, r.headers);
            r.pipe(res);
          },
        );
        up.end(body);
      });
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const apiBase = new URL(`http://127.0.0.1:${(proxy.address() as AddressInfo).port}`);
    provider = stripeProvider({ secretKey: env.secretKey, apiBase, webhookSecret: env.webhookSecret, meterEventName: 'tally_events' });
    const service = new TenancyService(db);
    const owner = await service.createUser({ email: 'meter@billing.test', password: 'billing test password 1', verified: true });
    orgId = (await service.createOrg(operator, { name: 'Meter', ownerId: owner.id })).id;
    await db('billing_accounts').insert({ organization_id: orgId, stripe_customer_id: 'cus_meter' });
    const [p] = await db('properties').insert({ organization_id: orgId, name: 'm', domain: 'm.test', measurement_id: 'G-METER' }).returning('id');
    const hour = (h: number) => new Date(Date.UTC(2026, 11, 6, h));
    await db('usage_hourly').insert([
      { tenant_id: orgId, property_id: p.id, hour: hour(9), events: 100, dead_letters: 0 },
      { tenant_id: orgId, property_id: p.id, hour: hour(10), events: 250, dead_letters: 3 },
      // the current hour is not settled: not sent yet
      { tenant_id: orgId, property_id: p.id, hour: hour(12), events: 7, dead_letters: 0 },
    ]);
  }, 60_000);
  afterAll(async () => {
    await new Promise<void>((r) => proxy?.close(() => r()));
    await db?.destroy();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const meterPosts = () => sent.filter((s) => s.path === '/v1/billing/meter_events');

  it('sends each settled hour once, even when run twice', async () => {
    const first = await reportUsage({ db, provider, now: () => NOW });
    expect(first).toEqual({ sent: 2, failed: 0, hours: 2 });
    const second = await reportUsage({ db, provider, now: () => NOW });
    expect(second).toEqual({ sent: 0, failed: 0, hours: 0 });
    const posts = meterPosts();
    expect(posts).toHaveLength(2);
    const ids = posts.map((p) => new URLSearchParams(p.body).get('identifier'));
    expect(ids).toEqual([meterIdentifier(orgId, new Date(Date.UTC(2026, 11, 6, 9))), meterIdentifier(orgId, new Date(Date.UTC(2026, 11, 6, 10)))]);
    expect(ids[0]).toBe(`${orgId}-2026120609`);
    expect(posts.map((p) => p.idempotencyKey)).toEqual(ids);
    expect(posts.map((p) => new URLSearchParams(p.body).get('payload[value]'))).toEqual(['100', '250']);
  });

  it('a crash between Stripe answering and the record re-sends the same identifier (Stripe counts it once), then records it', async () => {
    const later = NOW + 3_600_000; // hour 12 settles
    sent.length = 0;
    await expect(
      reportUsage(
        { db, provider, now: () => later },
        {
          afterSend: () => {
            throw new Error('crash after send');
          },
        },
      ),
    ).rejects.toThrow('crash after send');
    expect(await reportUsage({ db, provider, now: () => later })).toEqual({ sent: 1, failed: 0, hours: 1 });
    const posts = meterPosts();
    expect(posts).toHaveLength(2);
    const ids = posts.map((p) => new URLSearchParams(p.body).get('identifier'));
    expect(ids[0]).toBe(`${orgId}-2026120612`);
    expect(ids[1]).toBe(ids[0]);
    expect(posts[1].idempotencyKey).toBe(posts[0].idempotencyKey);
    expect(await reportUsage({ db, provider, now: () => later })).toEqual({ sent: 0, failed: 0, hours: 0 });
  });

  it('reconcile prints counted, reported and the difference for a month', async () => {
    await db('usage_hourly')
      .where({ tenant_id: orgId })
      .andWhere('hour', Date.UTC(2026, 11, 6, 10) as never)
      .update({ events: 260 });
    const rows = await reconcile(db, '2026-12');
    expect(rows).toEqual([{ organizationId: orgId, counted: 367, reported: 357, difference: 10 }]);
    expect(await reconcile(db, '2026-11')).toEqual([]);
  });

  it('sync-plans stores the product and price ids of every plan; running it twice keeps them', async () => {
    const a = await syncPlans(db, provider);
    const rows1 = await db('plans').orderBy('id').select('id', 'stripe_product_id', 'stripe_price_id', 'stripe_overage_price_id');
    const b = await syncPlans(db, provider);
    const rows2 = await db('plans').orderBy('id').select('id', 'stripe_product_id', 'stripe_price_id', 'stripe_overage_price_id');
    expect(a.plans.map((p) => p.planId)).toEqual(['free', 'growth', 'scale']);
    expect(rows2).toEqual(rows1);
    // the meter is looked up by event name before it is created; stripe-mock lists a fixture meter
    // of another name and keeps nothing, so that second lookup cannot be shown here
    expect(b.meterId).toMatch(/^meter_/);
    expect(rows1.find((r) => r.id === 'free')).toMatchObject({ stripe_product_id: 'tally_plan_free', stripe_price_id: null });
    expect(rows1.find((r) => r.id === 'growth')!.stripe_price_id).toMatch(/^price_/);
  });

  it('quota e-mails go to the owners once per threshold and month, however many processes report the crossing', async () => {
    const outbox = path.join(dir, 'outbox');
    const log = createLogger('silent');
    const a = new QuotaNotifier({ db, mailer: new OutboxMailer(outbox, 'Tally <t@t.test>'), log });
    const b = new QuotaNotifier({ db, mailer: new OutboxMailer(outbox, 'Tally <t@t.test>'), log });
    const c = { tenantId: orgId, month: '2026-12', quota: 1_000 };
    const results = await Promise.all([a.notify({ ...c, threshold: 80 }), b.notify({ ...c, threshold: 80 }), a.notify({ ...c, threshold: 100 })]);
    expect(results.filter(Boolean)).toHaveLength(2);
    expect(await b.notify({ ...c, threshold: 80 })).toBe(false);
    expect(await b.notify({ ...c, month: '2027-01', threshold: 80 })).toBe(true);
    const mails = readOutbox(outbox).filter((m) => m.to === 'meter@billing.test');
    expect(mails).toHaveLength(3);
  });
});
