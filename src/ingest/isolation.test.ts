import { planEntitlements, registerPlan } from '../domain/plans.js';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import { RedisCounters } from '../infra/counters/redis.counters.js';
import type { CreatedTenant } from '../tenancy/tenant.repository.js';
import { startTestCollector } from './collector.testkit.js';

/**
 * Issue 9 on the ingest side, against an in-process collector on the real parts (PGlite metadata,
 * the local event log, the credential cache): who may write into a property (§1), rate limits that
 * refuse abuse and not customers (§2), and GA4 MP / its debug endpoint (§7, issue 18).
 */
type Collector = Awaited<ReturnType<typeof startTestCollector>>;
const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36';
const json = (body: unknown, headers: Record<string, string> = {}): RequestInit => ({
  method: 'POST',
  body: JSON.stringify(body),
  headers: { 'content-type': 'text/plain', 'user-agent': CHROME, ...headers },
});
const gtag = (tid: string, dl: string, extra = '') => `/g/collect?v=2&tid=${encodeURIComponent(tid)}&cid=1.2&en=page_view&dl=${encodeURIComponent(dl)}${extra}`;
const native = (key: string, n: number, url = 'https://anything.example/') =>
  json({ events: Array.from({ length: n }, (_, i) => ({ name: 'page_view', client_id: `c${i % 7}`, url })) }, { authorization: `Bearer ${key}` });
const mpEvents = (n: number, extra: Record<string, unknown> = {}) =>
  json({ client_id: '1.2', events: Array.from({ length: n }, () => ({ name: 'level_up', ...extra })) });
const mpUrl = (t: CreatedTenant, secret = t.apiSecret, mid = t.measurementId) => `/mp/collect?measurement_id=${mid}&api_secret=${secret}`;

describe('public ids and who may write (issue 9 §1)', () => {
  let c: Collector;
  let a: CreatedTenant;
  let b: CreatedTenant;
  let wild: CreatedTenant;
  beforeAll(async () => {
    c = await startTestCollector();
    a = await c.tenant({ name: 'Acme', domain: 'acme.test' });
    b = await c.tenant({ name: 'Globex', domain: 'globex.test' });
    wild = await c.tenant({ name: 'Wild', domain: 'wild.test', allowedHostnames: ['*.shops.test', 'localhost'] });
  }, 60_000);
  afterAll(async () => c?.close());

  const raw = async (t: CreatedTenant) => (await c.records('raw-events')).filter((r) => r.property_id === t.propertyId);
  const dead = async (reason: string) => (await c.records('dead-letter')).filter((r) => r.reason === reason);

  it('browser protocols take the measurement id or the site id, never the sequential numeric property id', async () => {
    const pid = a.propertyId;
    expect((await c.fetch(gtag(pid, 'https://acme.test/'))).status).toBe(404);
    expect((await c.fetch(`/i.gif?mid=${pid}&cid=1&dl=https%3A%2F%2Facme.test%2F`)).status).toBe(404);
    expect((await c.fetch(`/t/collect?mid=${pid}`, json({ events: [{ name: 'page_view', url: 'https://acme.test/' }] }))).status).toBe(404);
    const um = await c.fetch('/api/send', json({ type: 'event', payload: { website: pid, hostname: 'acme.test', url: '/' } }));
    expect(um.status).toBe(400);
    expect((await c.fetch(`/i?e=pv&aid=${pid}&url=${encodeURIComponent('https://acme.test/sp-numeric')}&duid=d1`)).status).toBe(200);
    expect((await dead('unknown_property')).filter((d) => d.payload?.aid === pid)).toHaveLength(1);

    expect((await c.fetch(gtag(a.measurementId, 'https://acme.test/g'))).status).toBe(204);
    expect((await c.fetch(`/i.gif?tid=${a.measurementId}&cid=1&dl=https%3A%2F%2Facme.test%2Fpx`)).status).toBe(200);
    expect((await c.fetch(`/i?e=pv&aid=${a.siteId}&url=${encodeURIComponent('https://acme.test/sp')}&duid=d1`)).status).toBe(200);
    expect((await c.fetch('/api/send', json({ type: 'event', payload: { website: a.siteId, hostname: 'acme.test', url: '/um' } }))).status).toBe(200);
    const urls = (await raw(a)).map((r) => r.url).sort();
    expect(urls).toEqual(['https://acme.test/g', 'https://acme.test/px', 'https://acme.test/sp', 'https://acme.test/um']);
    expect((await c.records('raw-events')).some((r) => r.url === 'https://acme.test/sp-numeric')).toBe(false);
  });

  it('dead-letters browser hits from hosts the property does not allow (page URL, Origin or Referer), keeping them whole', async () => {
    const before = (await dead('hostname_not_allowed')).length;
    // default: the domain and its subdomains
    expect((await c.fetch(gtag(a.measurementId, 'https://www.acme.test/ok-sub'))).status).toBe(204);
    expect((await c.fetch(gtag(a.measurementId, 'https://evil.test/page'))).status).toBe(204);
    expect((await c.fetch(gtag(a.measurementId, 'https://notacme.test/page'))).status).toBe(204);
    // the page URL claims the right host, but the browser says where the request came from
    expect((await c.fetch(gtag(a.measurementId, 'https://acme.test/forged'), { headers: { origin: 'https://evil.test' } })).status).toBe(204);
    expect((await c.fetch(gtag(a.measurementId, 'https://acme.test/forged-ref'), { headers: { referer: 'https://evil.test/x' } })).status).toBe(204);
    expect(
      (
        await c.fetch(
          `/t/collect?mid=${a.measurementId}`,
          json({ st: Date.now(), e: [{ n: 'page_view', u: 'https://acme.test/tjs', ts: Date.now(), p: {} }] }, { origin: 'https://acme.test' }),
        )
      ).status,
    ).toBe(204);
    expect((await c.fetch('/api/send', json({ type: 'event', payload: { website: a.siteId, hostname: 'evil.test', url: '/um' } }))).status).toBe(200);
    // an explicit list with a wildcard replaces the default
    expect((await c.fetch(gtag(wild.measurementId, 'https://eu.shops.test/w'))).status).toBe(204);
    expect((await c.fetch(gtag(wild.measurementId, 'http://localhost:3000/w'))).status).toBe(204);
    expect((await c.fetch(gtag(wild.measurementId, 'https://wild.test/w'))).status).toBe(204);
    expect((await c.fetch(gtag(wild.measurementId, 'https://shops.test/w'))).status).toBe(204);

    const refused = (await dead('hostname_not_allowed')).slice(before);
    expect(refused.map((d) => d.payload.url).sort()).toEqual([
      'https://acme.test/forged',
      'https://acme.test/forged-ref',
      'https://evil.test/page',
      'https://evil.test/um',
      'https://notacme.test/page',
      'https://shops.test/w',
      'https://wild.test/w',
    ]);
    expect(refused.every((d) => d.tenant_id && d.property_id && d.payload.name === 'page_view' && d.payload.client_id)).toBe(true);
    const counted = [...(await raw(a)), ...(await raw(wild))].map((r) => r.url);
    expect(counted).toEqual(
      expect.arrayContaining(['https://www.acme.test/ok-sub', 'https://acme.test/tjs', 'https://eu.shops.test/w', 'http://localhost:3000/w']),
    );
    for (const d of refused) expect(counted).not.toContain(d.payload.url);
  });

  it('keyed server-side protocols are not subject to the hostname list', async () => {
    const r = await c.fetch('/v1/collect', native(a.ingestKey, 1, 'https://elsewhere.example/keyed'));
    expect(r.status).toBe(200);
    expect((await raw(a)).some((e) => e.url === 'https://elsewhere.example/keyed')).toBe(true);
  });

  it('CORS echoes only origins the resolved property allows, never with a null or foreign origin', async () => {
    const hit = (origin: string) => c.fetch(gtag(a.measurementId, 'https://acme.test/cors'), { headers: { origin } });
    const ok = await hit('https://shop.acme.test');
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.acme.test');
    expect(ok.headers.get('access-control-allow-credentials')).toBe('true');
    for (const origin of ['https://evil.test', 'null', 'https://globex.test']) {
      const r = await hit(origin);
      expect(r.headers.get('access-control-allow-origin'), origin).toBeNull();
      expect(r.headers.get('access-control-allow-credentials'), origin).toBeNull();
    }
    const preflight = (origin: string, q = `?mid=${a.measurementId}`) =>
      c.fetch(`/t/collect${q}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } });
    expect((await preflight('https://acme.test')).headers.get('access-control-allow-origin')).toBe('https://acme.test');
    expect((await preflight('https://globex.test')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight('null')).headers.get('access-control-allow-origin')).toBeNull();
    expect((await preflight('https://evil.test', '')).headers.get('access-control-allow-origin')).toBeNull();
    // keyed routes too: the key's property decides
    const seg = await c.fetch('/v1/track', json({ writeKey: a.ingestKey, userId: 'u1', event: 'x' }, { origin: 'https://evil.test' }));
    expect(seg.status).toBe(200);
    expect(seg.headers.get('access-control-allow-origin')).toBeNull();
  });

  it("tenant A's public ids and keys cannot write into tenant B", async () => {
    const bBefore = (await raw(b)).length;
    // A's secret with B's measurement id; A's key where B's would go; A's ids on B's pages
    expect((await c.fetch(mpUrl(b, a.apiSecret), mpEvents(1))).status).toBe(403);
    expect((await c.fetch(`/v1/collect`, native(a.ingestKey, 2, 'https://globex.test/from-a'))).status).toBe(200);
    expect((await c.fetch(gtag(a.measurementId, 'https://globex.test/from-a'))).status).toBe(204);
    expect(
      (
        await c.fetch(`/i?e=pv&aid=${b.siteId}&url=${encodeURIComponent('https://globex.test/from-a-key')}&duid=d`, {
          headers: { authorization: `Bearer ${a.ingestKey}` },
        })
      ).status,
    ).toBe(200);
    expect((await c.fetch('/api/send', json({ type: 'event', payload: { website: a.siteId, hostname: 'globex.test', url: '/from-a' } }))).status).toBe(200);
    // read keys and api secrets are no ingest keys
    expect((await c.fetch('/v1/collect', native(b.readKey, 1))).status).toBe(401);
    expect((await c.fetch('/v1/collect', native(b.apiSecret, 1))).status).toBe(401);
    expect((await raw(b)).length).toBe(bBefore);
    // the keyed Snowplow request went to the key's property, not the one its aid names
    expect((await raw(a)).some((e) => e.url === 'https://globex.test/from-a-key')).toBe(true);
  });
});

describe('rate limits that refuse abuse, not customers (issue 9 §2)', () => {
  let c: Collector;
  beforeAll(async () => {
    c = await startTestCollector({ trustProxy: true, anonymousPerIp: { ratePerSecond: 2, burst: 20 } });
  }, 60_000);
  afterAll(async () => c?.close());

  /** A tenant on its own plan: `rate` events per second, bursts of `burst`. */
  async function tenantOnPlan(name: string, rate: number, burst: number): Promise<CreatedTenant> {
    registerPlan({ ...planEntitlements('free'), planId: name, name, ratePerSecond: rate, burst, maxProperties: 1 });
    await c.db('plans').insert({ id: name });
    return c.tenant({ name, planId: name });
  }

  it('the free plan takes a replay of 1,852 events in two seconds and a 5,000-event batch', async () => {
    const t = await c.tenant({ name: 'Replay' });
    const statuses: number[] = [];
    // as fast as it goes: over the 1,000 events/s rate, well within the burst
    for (let i = 0; i < 4; i++) statuses.push((await c.fetch('/v1/collect', native(t.ingestKey, 463))).status);
    expect(statuses).toEqual([200, 200, 200, 200]);
    const batch = { batch: Array.from({ length: 5_000 }, (_, i) => ({ type: 'track', event: 'e', userId: `u${i % 50}` })) };
    expect((await c.fetch('/v1/batch', json(batch, { authorization: `Basic ${Buffer.from(`${t.ingestKey}:`).toString('base64')}` }))).status).toBe(200);
  });

  it('admits one request larger than the burst when the bucket is full, then asks to retry', async () => {
    const t = await tenantOnPlan('tiny', 5, 50);
    expect((await c.fetch('/v1/collect', native(t.ingestKey, 120))).status).toBe(200);
    const refused = await c.fetch('/v1/collect', native(t.ingestKey, 1));
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(10);
  });

  it('an anonymous flood on the public id leaves the keyed /v1/collect requests at 2xx', async () => {
    const t = await tenantOnPlan('flooded', 2, 20);
    const flood = Array.from({ length: 400 }, (_, i) =>
      c.fetch(gtag(t.measurementId, `https://flooded.test/${i}`), { headers: { 'x-forwarded-for': `198.51.${i % 250}.7` } }).then((r) => r.status),
    );
    const keyed: Promise<number>[] = [];
    for (let i = 0; i < 10; i++) keyed.push(c.fetch('/v1/collect', native(t.ingestKey, 2)).then((r) => r.status));
    const floodStatuses = await Promise.all(flood);
    // the anonymous bucket held (20 at once, then 2/s while the flood lasts, however slow the machine)
    expect(floodStatuses.filter((s) => s === 429).length).toBeGreaterThan(100);
    expect(await Promise.all(keyed)).toEqual(Array(10).fill(200));
  });

  it('limits anonymous traffic per truncated client IP: one network cannot use up the property', async () => {
    const t = await c.tenant({ name: 'PerIp' });
    const from = (ip: string, i: number) =>
      c.fetch(gtag(t.measurementId, `https://perip.test/${i}`), { headers: { 'x-forwarded-for': ip } }).then((r) => r.status);
    const one = await Promise.all(Array.from({ length: 60 }, (_, i) => from(`203.0.113.${i}`, i)));
    // a burst of 20 for the network 203.0.113.0/24 (and 2/s more while the requests run)
    expect(one.filter((s) => s === 204).length).toBeGreaterThanOrEqual(20);
    expect(one.filter((s) => s === 429).length).toBeGreaterThanOrEqual(10);
    expect(await from('192.0.2.1', 99)).toBe(204);
  });

  it('/mp/collect keeps over-limit events as rate_limited dead letters with a 2xx, up to a hard cap; /debug says so', async () => {
    const t = await tenantOnPlan('mpcap', 1, 10);
    const statuses: number[] = [];
    for (let i = 0; i < 2; i++) statuses.push((await c.fetch(mpUrl(t), mpEvents(5))).status);
    const debug = (await (await c.fetch(`/debug/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, mpEvents(1))).json()) as any;
    expect(debug.validationMessages).toEqual([expect.objectContaining({ fieldPath: 'events', description: expect.stringMatching(/rate_limited/) })]);
    // 10x the plan's burst of dead letters (about 100; the buckets refill a little while this runs), then 429
    while (statuses.length < 80 && statuses[statuses.length - 1] !== 429) statuses.push((await c.fetch(mpUrl(t), mpEvents(5))).status);
    const accepted = statuses.filter((s) => s === 204).length;
    expect(statuses.slice(0, accepted)).toEqual(Array(accepted).fill(204));
    expect(statuses[accepted]).toBe(429);
    const dead = (await c.records('dead-letter')).filter((d) => d.property_id === t.propertyId);
    const raw = (await c.records('raw-events')).filter((r) => r.property_id === t.propertyId);
    // every acknowledged event is either counted or kept
    expect(raw.length + dead.length).toBe(accepted * 5);
    expect(raw.length).toBeGreaterThanOrEqual(10);
    expect(dead.length).toBeGreaterThanOrEqual(100);
    expect(dead.length).toBeLessThan(200);
    expect(new Set(dead.map((d) => d.reason))).toEqual(new Set(['rate_limited']));
    expect(dead[0].payload).toMatchObject({ name: 'level_up', client_id: '1.2' });
  });
});

describe('GA4 MP credentials and time in /debug/mp/collect (issue 18), int64 strings (issue 9 §7)', () => {
  let c: Collector;
  let t: CreatedTenant;
  beforeAll(async () => {
    c = await startTestCollector();
    t = await c.tenant({ name: 'Debug' });
  }, 60_000);
  afterAll(async () => c?.close());
  const debug = async (q: string, body: RequestInit) => ((await (await c.fetch(`/debug/mp/collect${q}`, body)).json()) as any).validationMessages;

  it('checks measurement_id and api_secret as /mp/collect does', async () => {
    expect(await debug(`?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, mpEvents(1))).toEqual([]);
    expect(await debug(`?measurement_id=${t.measurementId}&api_secret=wrong`, mpEvents(1))).toEqual([
      expect.objectContaining({ fieldPath: 'api_secret', validationCode: 'VALUE_INVALID', description: expect.stringMatching(/HTTP 403/) }),
    ]);
    expect(await debug(`?measurement_id=G-NOPE000000&api_secret=${t.apiSecret}`, mpEvents(1))).toEqual([
      expect.objectContaining({ fieldPath: 'measurement_id', description: expect.stringMatching(/HTTP 404/) }),
    ]);
    expect(await debug('', mpEvents(1))).toEqual([expect.objectContaining({ fieldPath: 'measurement_id', validationCode: 'VALUE_REQUIRED' })]);
    expect(await debug(`?measurement_id=${t.measurementId}`, mpEvents(1))).toEqual([
      expect.objectContaining({ fieldPath: 'api_secret', validationCode: 'VALUE_REQUIRED' }),
    ]);
  });

  it('says what /mp/collect does with an out-of-window timestamp_micros', async () => {
    const q = `?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`;
    const old = (Date.now() - 80 * 3_600_000) * 1000;
    const relaxed = await debug(q, mpEvents(1, { timestamp_micros: old }));
    expect(relaxed).toEqual([expect.objectContaining({ fieldPath: 'events[0].timestamp_micros', description: expect.stringMatching(/re-dates/) })]);
    const enforced = await debug(q, json({ client_id: '1.2', validation_behavior: 'ENFORCE_RECOMMENDATIONS', events: [{ name: 'x', timestamp_micros: old }] }));
    expect(enforced).toEqual([expect.objectContaining({ fieldPath: 'events[0].timestamp_micros', description: expect.stringMatching(/72 hours/) })]);
  });

  it('/mp/collect takes timestamp_micros as a decimal string, top level and per event', async () => {
    const at = Date.now() - 3_600_000;
    const body = {
      client_id: '1.2',
      timestamp_micros: String(at * 1000),
      events: [{ name: 'a' }, { name: 'b', timestamp_micros: String((at - 60_000) * 1000) }],
    };
    expect((await c.fetch(mpUrl(t), json(body))).status).toBe(204);
    const rows = (await c.records('raw-events')).filter((r) => r.property_id === t.propertyId);
    expect(rows.map((r) => [r.name, r.client_ts]).sort()).toEqual([
      ['a', at],
      ['b', at - 60_000],
    ]);
    expect((await c.records('dead-letter')).filter((d) => d.property_id === t.propertyId)).toEqual([]);
  });
});

describeWithService('rate limits on Redis counters (issue 9 §2)', 'redis', 'REDIS_URL', (url) => {
  let c: Collector;
  const prefix = `tally:test:${randomUUID()}`;
  beforeAll(async () => {
    c = await startTestCollector({ counters: new RedisCounters({ url, prefix }), trustProxy: true });
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    // the month's quota counters would otherwise stay for a month
    const admin = new Redis(url);
    const keys = await admin.keys(`${prefix}:*`);
    if (keys.length) await admin.del(...keys);
    await admin.quit();
  });

  it('an anonymous flood on the public id leaves the keyed /v1/collect requests at 2xx', async () => {
    registerPlan({ ...planEntitlements('free'), planId: 'redis-flooded', name: 'r', ratePerSecond: 2, burst: 20, maxProperties: 1 });
    await c.db('plans').insert({ id: 'redis-flooded' });
    const t = await c.tenant({ name: 'RedisFlood', planId: 'redis-flooded' });
    const flood = Array.from({ length: 300 }, (_, i) =>
      c.fetch(gtag(t.measurementId, `https://redisflood.test/${i}`), { headers: { 'x-forwarded-for': `198.51.${i % 250}.9` } }).then((r) => r.status),
    );
    const keyed = Array.from({ length: 10 }, () => c.fetch('/v1/collect', native(t.ingestKey, 2)).then((r) => r.status));
    expect((await Promise.all(flood)).filter((s) => s === 429).length).toBeGreaterThan(100);
    expect(await Promise.all(keyed)).toEqual(Array(10).fill(200));
  });
});
