import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../infra/config/config.js';
import { createLogger } from '../infra/logger.js';
import { startTally, type TallyHandle } from '../server/tally-server.js';
import { createTenant, type CreatedTenant } from '../tenancy/tenant.repository.js';
import { runReport } from '../../test/support/golden.js';
import { supportServices } from '../server/support.module.js';
import type { SupportServices } from './support.routes.js';
import type { RedriveResult } from './dead-letters.service.js';
import { PipelineStateRepository } from '../../jobs/pipeline-state.repository.js';
import { TenancyService } from '../tenancy/tenancy.service.js';
import { CookieClient } from '../../test/support/cookie-client.js';

/**
 * Dead letters on the embedded profile: browser hits from a host the property does not allow are
 * dead-lettered (`hostname_not_allowed`); after the host is added a redrive counts them, a second
 * redrive adds nothing, and even a redrive that forgot it ran (its record lost) counts them once.
 */
describe('dead letters: list, redrive after the rule changed, idempotent', () => {
  let tally: TallyHandle;
  let t: CreatedTenant;
  let other: CreatedTenant;
  let dir: string;
  let baseUrl: string;
  let support: SupportServices;
  const day = new Date(Date.now() - 3_600_000).toISOString().slice(0, 10);
  const CLIENT = '1111.2222';

  const pageViews = async () => {
    const r = await runReport(
      { baseUrl, readKey: t.readKey, propertyId: t.propertyId },
      { dateRanges: [{ startDate: day, endDate: day }], metrics: [{ name: 'screenPageViews' }, { name: 'eventCount' }] },
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return Number(r.body.rows?.[0]?.metricValues[0].value ?? 0);
  };
  const pipeline = () => tally.runJob('pipeline', { propertyId: t.propertyId }, () => undefined);
  const redrive = () =>
    tally.runJob('redrive', { propertyId: t.propertyId, reason: 'hostname_not_allowed', note: 'ticket 99' }, () => undefined) as Promise<RedriveResult>;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tally-deadletters-'));
    const config = loadConfig({ TALLY_DATA_DIR: dir, PORT: '0', TALLY_TRANSFORM_INTERVAL_MS: '3600000' });
    tally = await startTally(config, ['collector', 'api', 'worker'], { logger: createLogger(process.env.TALLY_TEST_LOG ?? 'silent') });
    baseUrl = `http://127.0.0.1:${tally.port}`;
    t = await createTenant(tally.db, { name: 'Letters', email: 'owner@letters.test', domain: 'shop.example.com', planId: 'scale' });
    other = await createTenant(tally.db, { name: 'Other', email: 'owner@other.test', domain: 'other.example.com', planId: 'scale' });
    await tally.credentials.refresh();
    support = supportServices({
      config,
      logger: tally.logger,
      db: tally.db,
      store: tally.store,
      log: tally.log,
      state: new PipelineStateRepository(tally.db),
      credentials: tally.credentials,
    });
    // five page views from the shop's new blog, whose host the property does not list yet
    for (let i = 0; i < 5; i++) {
      const q = new URLSearchParams({ v: '2', tid: t.measurementId, cid: CLIENT, en: 'page_view', dl: `https://blog.newhost.test/post-${i}`, _et: '100' });
      const r = await fetch(`${baseUrl}/g/collect?${q}`, { headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0' } });
      expect(r.status).toBe(204);
    }
    await pipeline();
  }, 120_000);

  afterAll(async () => {
    await tally?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('lists them by reason with samples; another property sees none', async () => {
    const list = await support.deadLetters.list({ propertyId: t.propertyId });
    expect(list.total).toBe(5);
    expect(list.byReason).toHaveLength(1);
    expect(list.byReason[0]).toMatchObject({ reason: 'hostname_not_allowed', count: 5 });
    expect(list.byReason[0].samples[0].detail).toContain('blog.newhost.test');
    expect((await support.deadLetters.list({ propertyId: other.propertyId })).total).toBe(0);
    expect(await pageViews()).toBe(0);
  });

  it('a redrive before the rule changes appends nothing and says why', async () => {
    const r = await redrive();
    expect(r).toMatchObject({ letters: 5, appended: 0, stillRefused: [{ reason: 'hostname_not_allowed', count: 5 }] });
  });

  it('counts them once after the host is allowed, however often it runs', async () => {
    await tally
      .db('properties')
      .where({ id: t.propertyId })
      .update({ allowed_hostnames: JSON.stringify(['shop.example.com', 'blog.newhost.test']) });
    await tally.credentials.refresh();
    expect(await redrive()).toMatchObject({ letters: 5, appended: 5, alreadyRedriven: 0, stillRefused: [] });
    await pipeline();
    expect(await pageViews()).toBe(5);

    expect(await redrive()).toMatchObject({ letters: 5, appended: 0, alreadyRedriven: 5 });
    // a redrive whose record of what it sent was lost appends again: the same event ids, counted once
    await tally.db('redriven_letters').where({ property_id: t.propertyId }).delete();
    expect(await redrive()).toMatchObject({ appended: 5 });
    await pipeline();
    expect(await pageViews()).toBe(5);

    const audit = await tally.db('audit_log').where({ organization_id: t.organizationId, action: 'support.dead_letters.redrive' });
    expect(audit).toHaveLength(4);
    expect(audit[0].reason).toBe('ticket 99');
  });

  it('the inspector shows the visitor: counted events and the letters they came from', async () => {
    const v = await support.inspector.inspect({ propertyId: t.propertyId, clientId: CLIENT, from: day, to: day });
    const verdicts = v.events.map((e) => e.verdict);
    expect(verdicts.filter((x) => x === 'counted')).toHaveLength(5);
    expect(verdicts.filter((x) => x === 'duplicate')).toHaveLength(5);
    expect(verdicts.filter((x) => x === 'dead_letter')).toHaveLength(5);
    expect(v.sessions.length).toBeGreaterThan(0);
    expect(v.events.find((e) => e.verdict === 'dead_letter')!.why).toContain('hostname_not_allowed');
    // another tenant's property has no such visitor
    const none = await support.inspector.inspect({ propertyId: other.propertyId, clientId: CLIENT, from: day, to: day });
    expect(none.events).toEqual([]);
  });

  it('over HTTP: support staff list and redrive with a reason, queue a replay and poll it to its diff; no reason, no access', async () => {
    const service = new TenancyService(tally.db);
    const password = 'support test password 1';
    await service.createUser({ email: 'staff@tally.test', password, name: 'Staff', verified: true, isStaff: true });
    const staff = new CookieClient(baseUrl);
    expect((await staff.post('/api/auth/login', { email: 'staff@tally.test', password })).status).toBe(200);
    await staff.csrf();
    const why = { 'x-support-reason': 'ticket 7: missing conversions' };

    const list = await staff.get(`/api/properties/${t.propertyId}/dead-letters?reason=hostname_not_allowed`, why);
    expect(list.status, JSON.stringify(list.body)).toBe(200);
    expect(list.body).toMatchObject({ total: 5, byReason: [{ reason: 'hostname_not_allowed', count: 5 }] });
    const again = await staff.request('POST', `/api/properties/${t.propertyId}/dead-letters/redrive`, { reason: 'hostname_not_allowed' }, why);
    expect(again.status, JSON.stringify(again.body)).toBe(200);
    expect(again.body).toMatchObject({ appended: 0, alreadyRedriven: 5 });

    const created = await staff.request(
      'POST',
      '/api/support/replays',
      { propertyId: t.propertyId, from: day, to: day, dryRun: true, reason: 'ticket 7' },
      why,
    );
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    let replay = created.body;
    for (let i = 0; i < 600 && (replay.state === 'queued' || replay.state === 'running'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      replay = (await staff.get(`/api/support/replays/${created.body.id}`, why)).body;
    }
    expect(replay.state, JSON.stringify(replay)).toBe('succeeded');
    expect(replay.diff.days[0]).toMatchObject({ date: day, before: { views: 5 }, after: { views: 5 } });

    const visitor = await staff.get(`/api/support/properties/${t.propertyId}/visitors/${CLIENT}?from=${day}&to=${day}`, why);
    expect(visitor.status).toBe(200);
    expect(visitor.body.events.filter((e: { verdict: string }) => e.verdict === 'counted')).toHaveLength(5);
    // staff without a reason get nothing; bad input is a 4xx with its reason
    expect((await staff.get(`/api/support/replays/${created.body.id}`)).status).toBe(403);
    const bad = await staff.request('POST', '/api/support/replays', { propertyId: t.propertyId, from: day, to: day, reason: 'x' }, why);
    expect(bad.status).toBe(422);
    const otherReplay = await staff.request(
      'POST',
      '/api/support/replays',
      { propertyId: other.propertyId, from: '2026-02-30', to: day, reason: 'ticket 8' },
      why,
    );
    expect(otherReplay.status).toBe(400);
    expect(otherReplay.body.error.reason).toBe('invalid_date');
  }, 120_000);
});
