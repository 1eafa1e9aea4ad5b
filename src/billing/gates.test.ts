import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { isTallyError } from '../infra/errors.js';
import { FEATURES, PLANS, registerPlan, planEntitlements } from '../domain/plans.js';
import { featureGate } from './entitlements.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { setTenantPlan } from '../tenancy/tenant-admin.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { issueToken } from '../tenancy/auth-token.repository.js';
import { CookieClient } from '../../test/support/cookie-client.js';

function thrown(f: () => void): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return null;
}

describe('featureGate (the gate every feature route calls: sql, replay, and realtime / export where their routes will be)', () => {
  it('lets a plan with the feature through and refuses one without it: 403, plan_feature_unavailable, naming the plan and the feature', () => {
    for (const plan of PLANS) {
      for (const feature of FEATURES) {
        const e = thrown(() => featureGate(plan, feature));
        if (plan.features[feature]) expect(e, `${plan.planId} ${feature}`).toBeNull();
        else {
          expect(isTallyError(e), `${plan.planId} ${feature}`).toBe(true);
          expect(e).toMatchObject({ code: 'permission_denied', details: { reason: 'plan_feature_unavailable', planId: plan.planId, feature } });
          expect((e as Error).message).toContain(plan.name);
          expect((e as Error).message).toContain(`"${feature}"`);
        }
      }
    }
    // every standard plan has realtime; export is refused on free: both gates answer from the one definition
    expect(thrown(() => featureGate(planEntitlements('free'), 'export'))).toMatchObject({ details: { reason: 'plan_feature_unavailable', feature: 'export' } });
    registerPlan({
      ...planEntitlements('free'),
      planId: 'gates-no-realtime',
      name: 'No Realtime',
      features: { realtime: false, export: true, sql: false, replay: false },
    });
    expect(thrown(() => featureGate(planEntitlements('gates-no-realtime'), 'realtime'))).toMatchObject({
      details: { reason: 'plan_feature_unavailable', feature: 'realtime' },
    });
    expect(thrown(() => featureGate(planEntitlements('gates-no-realtime'), 'export'))).toBeNull();
  });
});

/**
 * The gates on the embedded profile, over HTTP: tenant A on Free (no SQL, no replay, 3 members),
 * tenant B on Scale. Each answers from its own organisation's plan, and a plan change of one
 * never opens or closes the other.
 */
describe('plan gates over HTTP: sql, replay, members; tenant-scoped', () => {
  let tally: TallyHandle;
  let dir: string;
  let base: string;
  let a: CreatedTenant;
  let b: CreatedTenant;
  let ownerA: CookieClient;
  let ownerB: CookieClient;
  const service = () => new TenancyService(tally.db);
  const password = 'gates test password 1';
  const day = new Date().toISOString().slice(0, 10);

  const owner = async (t: CreatedTenant, email: string) => {
    const u = await service().createUser({ email, password, name: email, verified: true });
    await tally.db('memberships').insert({ organization_id: t.organizationId, user_id: u.id, role: 'owner' });
    const c = new CookieClient(base);
    expect((await c.post('/api/auth/login', { email, password })).status).toBe(200);
    await c.csrf();
    return c;
  };
  const sql = (t: CreatedTenant) =>
    fetch(`${base}/v1/sql`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ query: 'SELECT count(*) AS n FROM events' }),
    }).then(async (r) => ({ status: r.status, body: (await r.json()) as any }));
  const replay = (c: CookieClient, t: CreatedTenant, headers: Record<string, string> = {}) =>
    c.request('POST', '/api/support/replays', { propertyId: t.propertyId, from: day, to: day, dryRun: true, reason: 'gate test' }, headers);
  /** Entitlements are cached a second per organisation: wait for a plan change to show. */
  const until = async (f: () => Promise<boolean>) => {
    for (let i = 0; i < 40 && !(await f()); i++) await new Promise((r) => setTimeout(r, 100));
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-gates-'));
    const config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', TALLY_TRANSFORM_INTERVAL_MS: '3600000' });
    tally = await startTally(config, ['api'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    base = `http://127.0.0.1:${tally.port}`;
    a = await createTenant(tally.db, { name: 'Free A', email: 'ops@a.test', domain: 'a.example.com', planId: 'free' });
    b = await createTenant(tally.db, { name: 'Scale B', email: 'ops@b.test', domain: 'b.example.com', planId: 'scale' });
    await tally.credentials.refresh();
    ownerA = await owner(a, 'owner@a.test');
    ownerB = await owner(b, 'owner@b.test');
  }, 120_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('POST /v1/sql: 403 plan_feature_unavailable naming the plan for Free; Scale runs; swapping the plans swaps the answers', async () => {
    const refused = await sql(a);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'permission_denied', reason: 'plan_feature_unavailable' });
    expect(refused.body.error.message).toContain('Free plan (free)');
    expect(refused.body.error.message).toContain('"sql"');
    const ok = await sql(b);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.rows).toHaveLength(1);

    await setTenantPlan(tally.db, a.organizationId, 'scale');
    await setTenantPlan(tally.db, b.organizationId, 'free');
    await until(async () => (await sql(a)).status === 200 && (await sql(b)).status === 403);
    expect((await sql(a)).status).toBe(200);
    expect((await sql(b)).body.error.reason).toBe('plan_feature_unavailable');
    await setTenantPlan(tally.db, a.organizationId, 'free');
    await setTenantPlan(tally.db, b.organizationId, 'scale');
    await until(async () => (await sql(a)).status === 403 && (await sql(b)).status === 200);
    expect((await sql(a)).status).toBe(403);
    expect((await sql(b)).status).toBe(200);
  }, 60_000);

  it("replay: a Free organisation's owner gets 403 naming the plan and the feature; Scale's owner queues one; staff are not gated", async () => {
    const refused = await replay(ownerA, a);
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'permission_denied', reason: 'plan_feature_unavailable' });
    expect(refused.body.error.message).toContain('Free');
    expect(refused.body.error.message).toContain('"replay"');
    expect((await replay(ownerB, b)).status).toBe(202);
    // A's owner may not reach B's property at all (404), plan or not
    expect((await replay(ownerA, b)).status).toBe(404);

    await service().createUser({ email: 'staff@gates.test', password, name: 'Staff', verified: true, isStaff: true });
    const staff = new CookieClient(base);
    expect((await staff.post('/api/auth/login', { email: 'staff@gates.test', password })).status).toBe(200);
    await staff.csrf();
    const byStaff = await replay(staff, a, { 'x-support-reason': 'ticket 12: support replays on any plan' });
    expect(byStaff.status, JSON.stringify(byStaff.body)).toBe(202);
  }, 60_000);

  it('members: inviting past the plan limit is 403 plan_limit_members naming the plan; accepting past it too; the other tenant is unaffected', async () => {
    // A: its two owners + one more = Free's 3
    const third = await service().createUser({ email: 'third@a.test', password, verified: true });
    const pending = await issueToken(tally.db, {
      kind: 'invitation',
      email: 'late@a.test',
      organizationId: a.organizationId,
      role: 'viewer',
      ttlMs: 3_600_000,
    });
    await tally.db('memberships').insert({ organization_id: a.organizationId, user_id: third.id, role: 'viewer' });

    const refused = await ownerA.post(`/api/orgs/${a.organizationId}/invitations`, { email: 'fourth@a.test', role: 'viewer' });
    expect(refused.status, JSON.stringify(refused.body)).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'permission_denied', reason: 'plan_limit_members' });
    expect(refused.body.error.message).toContain('Free plan (free) allows 3 members');
    // an invitation sent before the organisation filled up cannot be accepted past the limit either
    const late = await service().createUser({ email: 'late@a.test', password, verified: true });
    await expect(service().acceptInvitation({ kind: 'user', userId: late.id }, late as { id: string; email: string }, pending)).rejects.toMatchObject({
      details: { reason: 'plan_limit_members', planId: 'free', limit: 3 },
    });
    const [{ n }] = await tally.db('memberships').where({ organization_id: a.organizationId }).count({ n: '*' });
    expect(Number(n)).toBe(3);

    // B (Scale, 500 members) invites as before
    const invited = await ownerB.post(`/api/orgs/${b.organizationId}/invitations`, { email: 'new@b.test', role: 'viewer' });
    expect(invited.status, JSON.stringify(invited.body)).toBeLessThan(300);
    // after an upgrade A invites again
    await setTenantPlan(tally.db, a.organizationId, 'growth');
    const after = await ownerA.post(`/api/orgs/${a.organizationId}/invitations`, { email: 'fourth@a.test', role: 'viewer' });
    expect(after.status, JSON.stringify(after.body)).toBeLessThan(300);
  }, 60_000);
});
