import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planEntitlements, registerPlan } from '../domain/plans.js';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { startTally, type TallyHandle } from './tally-server.js';

/**
 * The report module's wiring to billing, on the embedded profile: runRealtimeReport behind the
 * plan's `realtime` feature and the read gate, report token budgets from the plan definition.
 * Tenant A is on a plan without realtime and with its own report budget, tenant B on Scale.
 */
describe('reports module: billing gates and plan budgets', () => {
  let tally: TallyHandle;
  let dir: string;
  let base: string;
  let a: CreatedTenant;
  let b: CreatedTenant;
  const NO_REALTIME = 'reports-no-realtime';
  const DAY_TOKENS = 123_456;

  const post = (t: CreatedTenant, method: string, body: unknown) =>
    fetch(`${base}/v1beta/properties/${t.propertyId}:${method}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${t.readKey}` },
      body: JSON.stringify(body),
    }).then(async (r) => ({ status: r.status, json: (await r.json()) as any }));
  const realtime = (t: CreatedTenant) => post(t, 'runRealtimeReport', { metrics: [{ name: 'activeUsers' }] });
  const today = new Date().toISOString().slice(0, 10);
  const report = (t: CreatedTenant) =>
    post(t, 'runReport', { dateRanges: [{ startDate: today, endDate: today }], metrics: [{ name: 'eventCount' }], returnPropertyQuota: true });

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-reports-module-'));
    tally = await startTally(loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', TALLY_TRANSFORM_INTERVAL_MS: '3600000' }), ['api'], {
      logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent'),
    });
    base = `http://127.0.0.1:${tally.port}`;
    const free = planEntitlements('free');
    registerPlan({
      ...free,
      planId: NO_REALTIME,
      name: 'No Realtime',
      features: { ...free.features, realtime: false },
      reportQuota: { ...free.reportQuota, tokensPerDay: DAY_TOKENS },
    });
    await tally.db('plans').insert({ id: NO_REALTIME });
    a = await createTenant(tally.db, { name: 'No realtime A', email: 'ops@a.test', domain: 'a.example.com', planId: NO_REALTIME });
    b = await createTenant(tally.db, { name: 'Scale B', email: 'ops@b.test', domain: 'b.example.com', planId: 'scale' });
    await tally.credentials.refresh();
  }, 120_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("charges report tokens against each organisation's plan budget (src/domain/plans.ts)", async () => {
    // first: realtime answers are charged too
    for (const [t, perDay] of [
      [a, DAY_TOKENS],
      [b, planEntitlements('scale').reportQuota.tokensPerDay],
    ] as const) {
      const r = await report(t);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const q = r.json.propertyQuota.tokensPerDay;
      expect(q.consumed + q.remaining).toBe(perDay);
    }
  });

  it("runRealtimeReport: 403 naming the plan and the feature without the plan's realtime; the other tenant's plan answers", async () => {
    const refused = await realtime(a);
    expect(refused.status).toBe(403);
    expect(refused.json.error).toMatchObject({ code: 403, status: 'PERMISSION_DENIED' });
    expect(refused.json.error.message).toContain('No Realtime plan (reports-no-realtime)');
    expect(refused.json.error.message).toContain('"realtime"');
    const ok = await realtime(b);
    expect(ok.status, JSON.stringify(ok.json)).toBe(200);
    expect(ok.json.kind).toBe('analyticsData#runRealtimeReport');
  });

  it("closes realtime like the other reports once a failed payment's grace period has ended", async () => {
    await tally
      .db('billing_accounts')
      .insert({ organization_id: b.organizationId, status: 'past_due', payment_failed_at: new Date(Date.now() - 30 * 86_400_000) });
    try {
      let gated = await realtime(b);
      // entitlements are cached a second per organisation
      for (let i = 0; i < 30 && gated.status === 200; i++) {
        await new Promise((r) => setTimeout(r, 100));
        gated = await realtime(b);
      }
      expect(gated.status).toBe(403);
      expect(gated.json.error.message).toContain('Billing');
    } finally {
      await tally.db('billing_accounts').where({ organization_id: b.organizationId }).delete();
    }
  });
});
