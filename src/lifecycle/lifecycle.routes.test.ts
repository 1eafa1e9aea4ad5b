import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../../test/support/cookie-client.js';
import { startAccountsApp } from '../tenancy/accounts-app.testkit.js';
import { lifecycleTestRoutes } from './lifecycle-app.testkit.js';
import { EntitlementsReader } from '../billing/entitlements.js';
import { planEntitlements } from '../domain/plans.js';

const operator = { kind: 'operator' as const };
const PASSWORD = 'lifecycle routes password 1';

describe('lifecycle routes (management API)', () => {
  let app: Awaited<ReturnType<typeof startAccountsApp>>;
  let lc: Awaited<ReturnType<typeof lifecycleTestRoutes>>;
  const c: Record<'a' | 'b', CookieClient> = {} as never;
  const props: Record<'a' | 'b', string> = {} as never;

  beforeAll(async () => {
    app = await startAccountsApp({
      routes: async (deps) => {
        // billing's read gate as the api process wires it (src/server/lifecycle.wiring.ts)
        const entitlements = new EntitlementsReader(deps.db, { graceMs: 7 * 86_400_000, cacheMs: 0 });
        lc = await lifecycleTestRoutes(deps, {
          readAllowed: async (org) => {
            await entitlements.assertFeature(org, 'export');
            await entitlements.assertReadAllowed(org);
          },
        });
        return lc;
      },
    });
    for (const who of ['a', 'b'] as const) {
      const u = await app.service.createUser({ email: `${who}@routes.test`, password: PASSWORD, name: who, verified: true });
      const org = await app.service.createOrg(operator, { name: who, ownerId: u.id });
      // exports need a plan with the `export` feature (the free plan has none: tested below)
      await app.db('organizations').where({ id: org.id }).update({ plan_id: 'growth' });
      props[who] = (await app.service.createProperty(operator, org.id, { name: who, domain: `${who}.routes.test` })).id;
      c[who] = new CookieClient(app.baseUrl);
      expect((await c[who].post('/api/auth/login', { email: `${who}@routes.test`, password: PASSWORD })).status).toBe(200);
      await c[who].csrf();
    }
    await app.credentials.refresh();
  }, 120_000);
  afterAll(async () => app?.close());

  const logRecords = async () => (await lc.log.endOffsets('raw-events')).reduce((n, x) => n + x, 0);

  it('imports a CSV body: good rows into the event log, bad ones named by line; audited', async () => {
    const before = await logRecords();
    const csv = 'name,timestamp,client_id\npage_view,2024-05-01T10:00:00Z,c1\npage_view,,c2\n"bad name!",2024-05-01T10:00:01Z,c3\npurchase,1714557602000,c1\n';
    const r = await c.a.request('POST', `/api/properties/${props.a}/imports`, csv, { 'content-type': 'text/csv' });
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({ rows: 4, imported: 2, refused: [{ line: 3 }, { line: 4 }] });
    expect(await logRecords()).toBe(before + 2);
    const audit = await c.a.get(`/api/orgs/${(await app.service.propertyRow(props.a))!.organization_id}/audit`);
    expect(audit.body.entries[0]).toMatchObject({ action: 'data.import', after: { imported: 2 } });
  });

  it("refuses a file with an unknown column, and another organisation's property looks absent (nothing appended)", async () => {
    const before = await logRecords();
    const bad = await c.a.request('POST', `/api/properties/${props.a}/imports`, 'name,timestamp,colour\n', { 'content-type': 'text/csv' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.reason).toBe('bad_header');
    const wall = await c.a.request('POST', `/api/properties/${props.b}/imports`, '{"name":"x","client_id":"c","timestamp":1}\n', {
      'content-type': 'application/x-ndjson',
    });
    expect(wall.status).toBe(404);
    expect((await c.a.post(`/api/properties/${props.b}/deletions`, { userId: 'u', reason: 'r' })).status).toBe(404);
    expect((await c.a.get(`/api/properties/${props.b}/export?from=2024-05-01&to=2024-05-02`)).status).toBe(404);
    expect(await logRecords()).toBe(before);
  });

  it('queues a deletion and answers its receipt (no identifier in it); one of userId / clientId and a reason are required', async () => {
    const r = await c.a.post(`/api/properties/${props.a}/deletions`, { userId: 'person-1', reason: 'GDPR request 12' });
    expect(r.status).toBe(202);
    expect(r.body.deletion).toMatchObject({
      state: 'queued',
      reason: 'GDPR request 12',
      subject: { kind: 'user_id', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    });
    expect(JSON.stringify(r.body)).not.toContain('person-1');
    expect((await c.a.get(`/api/properties/${props.a}/deletions/${r.body.deletion.id}`)).body.deletion.id).toBe(r.body.deletion.id);
    expect((await c.b.get(`/api/properties/${props.b}/deletions/${r.body.deletion.id}`)).status).toBe(404);
    expect((await c.a.post(`/api/properties/${props.a}/deletions`, { userId: 'u', clientId: 'c', reason: 'x' })).status).toBe(422);
    expect((await c.a.post(`/api/properties/${props.a}/deletions`, { userId: 'u' })).status).toBe(422);
  });

  it('streams an export with its content type; a bad range is a 400', async () => {
    const r = await fetch(`${app.baseUrl}/api/properties/${props.a}/export?from=2024-05-01&to=2024-05-02&format=csv`, {
      headers: { cookie: c.a.cookieHeader() },
    });
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/text\/csv/);
    expect((await r.text()).split('\n')[0]).toMatch(/^event_date,event_timestamp,event_name/);
    expect((await c.a.get(`/api/properties/${props.a}/export?from=2024-05-03&to=2024-05-01`)).status).toBe(400);
  });

  it("an export needs the plan's export feature: on the free plan 403 naming plan and feature; another organisation unaffected", async () => {
    const orgId = (await app.service.propertyRow(props.a))!.organization_id;
    await app.db('organizations').where({ id: orgId }).update({ plan_id: 'free' });
    try {
      const r = await c.a.get(`/api/properties/${props.a}/export?from=2024-05-01&to=2024-05-02`);
      expect(r.status).toBe(403);
      expect(r.body.error.reason).toBe('plan_feature_unavailable');
      expect(r.body.error.message).toMatch(/export/i);
      expect((await c.b.get(`/api/properties/${props.b}/export?from=2024-05-01&to=2024-05-02`)).status).toBe(200);
    } finally {
      await app.db('organizations').where({ id: orgId }).update({ plan_id: 'growth' });
    }
    expect((await c.a.get(`/api/properties/${props.a}/export?from=2024-05-01&to=2024-05-02`)).status).toBe(200);
  });

  it("an export is closed like the reports once a failed payment's grace period has ended (403 naming billing); paid, it reopens", async () => {
    const orgId = (await app.service.propertyRow(props.a))!.organization_id;
    const exportA = () => c.a.get(`/api/properties/${props.a}/export?from=2024-05-01&to=2024-05-02`);
    await app.db('billing_accounts').insert({ organization_id: orgId, status: 'past_due', payment_failed_at: new Date(Date.now() - 8 * 86_400_000) });
    try {
      const gated = await exportA();
      expect(gated.status).toBe(403);
      expect(gated.body.error.reason).toBe('billing_payment_overdue');
      expect((await c.b.get(`/api/properties/${props.b}/export?from=2024-05-01&to=2024-05-02`)).status).toBe(200);
      // within the grace period it still answers
      await app
        .db('billing_accounts')
        .where({ organization_id: orgId })
        .update({ payment_failed_at: new Date(Date.now() - 86_400_000) });
      expect((await exportA()).status).toBe(200);
    } finally {
      await app.db('billing_accounts').where({ organization_id: orgId }).delete();
    }
    expect((await exportA()).status).toBe(200);
  });

  it('retention: the plan, the setting and the effective value; above the plan is a 422', async () => {
    const r = await c.a.request('PATCH', `/api/properties/${props.a}/retention`, { raw: 7, warehouse: null });
    expect(r.status).toBe(200);
    // the organisation's plan (growth, see beforeAll), from the one plan definition: raw is its `raw`, the warehouse its `events`
    const plan = planEntitlements('growth').retentionDays;
    expect(r.body.retention).toMatchObject({ plan: { raw: plan.raw }, property: { raw: 7, warehouse: null }, effective: { raw: 7, warehouse: plan.events } });
    const above = await c.a.request('PATCH', `/api/properties/${props.a}/retention`, { raw: plan.raw + 1 });
    expect(above.status).toBe(422);
    expect(above.body.error.reason).toBe('above_plan');
    expect((await c.b.get(`/api/properties/${props.b}/retention`)).body.retention.effective.raw).toBe(plan.raw);
  });
});
