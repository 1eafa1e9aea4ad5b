import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CookieClient } from '../support/cookie-client.js';
import { startTally, type TallyProcess } from '../support/tally-process.js';
import { tallyCli } from '../support/cli.js';
import { describeWithService } from '../support/services.js';
import { readOutbox } from '../../src/infra/mailer/outbox.mailer.js';
import { createTestDatabase } from '../../src/infra/metadata/test-database.testkit.js';

const PASSWORD = 'my first day at tally';

function tokenFrom(dataDir: string, to: string, kind: 'verify' | 'invitations'): string {
  const m = readOutbox(path.join(dataDir, 'outbox'))
    .filter((x) => x.to === to && x.body.includes(`/${kind}`))
    .pop();
  const t = m && new RegExp(`/${kind}(?:\\?token=|/)([\\w-]+)`).exec(m.body)?.[1];
  if (!t) throw new Error(`no ${kind} e-mail to ${to} in the outbox`);
  return t;
}

async function signUp(baseUrl: string, email: string, org: string) {
  const c = new CookieClient(baseUrl);
  const r = await c.post('/api/auth/signup', { email, password: PASSWORD, name: email.split('@')[0], organizationName: org });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  await c.csrf();
  return { c, orgId: r.body.organization.id as string };
}

async function collect(baseUrl: string, key: string, events: unknown[]) {
  return fetch(`${baseUrl}/v1/collect`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
}

/** Polls until `probe` answers `status`; resolves with how long that took (ms). */
async function msUntil(probe: () => Promise<number>, status: number, limitMs = 5000): Promise<number> {
  const start = Date.now();
  for (;;) {
    if ((await probe()) === status) return Date.now() - start;
    if (Date.now() - start > limitMs) throw new Error(`still not ${status} after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("a person's first day on the API alone, with a cookie jar (tally serve, embedded)", () => {
  let tally: TallyProcess;
  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000' } });
  }, 180_000);
  afterAll(async () => {
    await tally?.stop();
  });

  it('sign up → verify → property → ingest key → events → report by session → viewer → 403 → revoke → 401 → other org 404', async () => {
    const base = tally.baseUrl;
    const { c, orgId } = await signUp(base, 'dana@first-day.test', 'First Day Ltd');
    expect((await c.post('/api/auth/verify', { token: tokenFrom(tally.dataDir, 'dana@first-day.test', 'verify') })).status).toBe(200);

    const property = (await c.post(`/api/orgs/${orgId}/properties`, { name: 'Shop', domain: 'shop.first-day.test' })).body.property;
    expect(property.id).toMatch(/^\d+$/);
    const ingest = await c.post(`/api/properties/${property.id}/keys`, { kind: 'ingest', name: 'server' });
    expect(ingest.status).toBe(201);

    const events = [1, 2, 3].map((i) => ({ name: 'page_view', client_id: `c${i}`, url: `https://shop.first-day.test/p${i}`, event_id: `e-${i}` }));
    const sent = await msUntil(async () => (await collect(base, ingest.body.secret, events)).status, 200);
    expect(sent).toBeLessThan(2000);
    await tallyCli(tally.dataDir, ['jobs', 'run', 'pipeline', '--property', property.id]);

    const report = await c.post(`/v1beta/properties/${property.id}:runReport`, {
      dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }],
      metrics: [{ name: 'eventCount' }, { name: 'totalUsers' }],
    });
    expect(report.status, JSON.stringify(report.body)).toBe(200);
    expect(report.body.rows[0].metricValues.map((v: { value: string }) => v.value)).toEqual(['3', '3']);

    expect((await c.post(`/api/orgs/${orgId}/invitations`, { email: 'vic@first-day.test', role: 'viewer' })).status).toBe(201);
    const viewer = await signUp(base, 'vic@first-day.test', 'Vic Own');
    expect((await viewer.c.post(`/api/invitations/${tokenFrom(tally.dataDir, 'vic@first-day.test', 'invitations')}/accept`)).status).toBe(200);
    expect((await viewer.c.post(`/api/properties/${property.id}/keys`, { kind: 'ingest', name: 'nope' })).status).toBe(403);
    expect(
      (
        await viewer.c.post(`/v1beta/properties/${property.id}:runReport`, {
          dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }],
          metrics: [{ name: 'eventCount' }],
        })
      ).status,
    ).toBe(200);

    expect((await c.delete(`/api/keys/${ingest.body.key.id}`)).status).toBe(204);
    const refusedAfter = await msUntil(async () => (await collect(base, ingest.body.secret, events)).status, 401);
    expect(refusedAfter).toBeLessThan(2000);

    const other = await signUp(base, 'eve@elsewhere.test', 'Elsewhere');
    expect((await other.c.get(`/api/properties/${property.id}`)).status).toBe(404);
    expect(
      (
        await other.c.post(`/v1beta/properties/${property.id}:runReport`, {
          dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }],
          metrics: [{ name: 'eventCount' }],
        })
      ).status,
    ).toBe(404);

    // the operator's CLI goes through the running server and sees the same keys
    const listed = JSON.parse(await tallyCli(tally.dataDir, ['key', 'list', '--property', property.id, '--json']));
    expect(listed.keys).toEqual([]);
    const audit = (await c.get(`/api/orgs/${orgId}/audit`)).body.entries.map((e: { action: string }) => e.action);
    expect(audit).toEqual(['key.revoke', 'member.join', 'member.invite', 'key.create', 'property.create', 'organization.create']);
  }, 180_000);
});

describeWithService('accounts on PostgreSQL + Redis', 'postgres', 'DATABASE_URL', (databaseUrl) => {
  describeWithService('two api processes and a separate collector', 'redis', 'REDIS_URL', (redisUrl) => {
    let meta: Awaited<ReturnType<typeof createTestDatabase>>;
    let warehouse: Awaited<ReturnType<typeof createTestDatabase>>;
    const procs: TallyProcess[] = [];
    beforeAll(async () => {
      meta = await createTestDatabase(databaseUrl, 'accounts');
      // api processes without the worker need a shared warehouse (the embedded DuckDB file is refused)
      warehouse = await createTestDatabase(databaseUrl, 'accounts_wh');
      const env = {
        DATABASE_URL: meta.url,
        REDIS_URL: redisUrl,
        TALLY_COUNTERS_PREFIX: `tally-acc-${Date.now()}`,
        TALLY_WAREHOUSE: 'postgres',
        WAREHOUSE_URL: warehouse.url,
      };
      for (const role of ['api', 'api', 'collector']) procs.push(await startTally({ role, env }));
    }, 180_000);
    afterAll(async () => {
      for (const p of procs) await p.stop();
      await meta?.drop();
      await warehouse?.drop();
    }, 60_000);

    it('a session made on one api works on the other; a key revoked on one is refused by the other and by the collector within 2 s', async () => {
      const [api1, api2, collector] = procs;
      const { c, orgId } = await signUp(api1.baseUrl, 'pat@distributed.test', 'Distributed');
      expect((await c.post('/api/auth/verify', { token: tokenFrom(api1.dataDir, 'pat@distributed.test', 'verify') })).status).toBe(200);
      const property = (await c.post(`/api/orgs/${orgId}/properties`, { name: 'D', domain: 'd.test' })).body.property;
      const ingest = (await c.post(`/api/properties/${property.id}/keys`, { kind: 'ingest', name: 'i' })).body;
      const read = (await c.post(`/api/properties/${property.id}/keys`, { kind: 'read', name: 'r' })).body;

      // same cookie jar and CSRF token against the second process
      const c2 = new CookieClient(api2.baseUrl);
      (c2 as unknown as { cookies: Map<string, string> }).cookies = (c as unknown as { cookies: Map<string, string> }).cookies;
      c2.csrfToken = c.csrfToken;
      expect((await c2.get('/api/me')).body.user.email).toBe('pat@distributed.test');
      expect((await c2.get(`/api/properties/${property.id}/keys`)).body.keys).toHaveLength(2);

      const event = [{ name: 'page_view', client_id: 'c1', event_id: 'd-1' }];
      expect(await msUntil(async () => (await collect(collector.baseUrl, ingest.secret, event)).status, 200)).toBeLessThan(2000);
      const readOn1 = async () =>
        (await fetch(`${api1.baseUrl}/v1beta/properties/${property.id}/metadata`, { headers: { authorization: `Bearer ${read.secret}` } })).status;
      expect(await msUntil(readOn1, 200)).toBeLessThan(2000);

      expect((await c2.delete(`/api/keys/${ingest.key.id}`)).status).toBe(204);
      expect((await c2.delete(`/api/keys/${read.key.id}`)).status).toBe(204);
      const [collectorMs, api1Ms] = await Promise.all([
        msUntil(async () => (await collect(collector.baseUrl, ingest.secret, event)).status, 401),
        msUntil(readOn1, 401),
      ]);
      expect(collectorMs).toBeLessThan(2000);
      expect(api1Ms).toBeLessThan(2000);

      // the login brake is shared through Redis: failures on api1 count on api2
      const anon1 = new CookieClient(api1.baseUrl);
      for (let i = 0; i < 10; i++) await anon1.post('/api/auth/login', { email: 'pat@distributed.test', password: 'wrong password here' });
      expect((await new CookieClient(api2.baseUrl).post('/api/auth/login', { email: 'pat@distributed.test', password: PASSWORD })).status).toBe(429);
    }, 120_000);
  });
});
