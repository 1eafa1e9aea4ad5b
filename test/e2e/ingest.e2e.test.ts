import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

describe('tally serve: two tenants, both endpoints, the raw zone', () => {
  let tally: TallyProcess;
  let a: TenantKeys;
  let b: TenantKeys;

  beforeAll(async () => {
    tally = await startTally();
    // through the running server: PGlite is single-process
    [a, b] = await Promise.all([createTenantCli(tally.dataDir, 'Acme'), createTenantCli(tally.dataDir, 'Globex')]);
  });

  afterAll(async () => {
    if (tally?.child.exitCode === null) await tally.stop();
  });

  const mp = (t: TenantKeys, body: unknown, secret = t.apiSecret, mid = t.measurementId) =>
    fetch(`${tally.baseUrl}/mp/collect?measurement_id=${mid}&api_secret=${secret}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'user-agent': 'python-requests/2.31' },
    });
  const native = (key: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${key}`, 'content-type': 'text/plain', ...headers },
    });

  it('prints exactly the seven ids and keys with --json', () => {
    expect(Object.keys(a).sort()).toEqual(['apiSecret', 'ingestKey', 'measurementId', 'organizationId', 'propertyId', 'readKey', 'siteId']);
    expect(a.siteId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.propertyId).toMatch(/^\d+$/);
    expect(a.measurementId).toMatch(/^G-[A-Z0-9]{10}$/);
    expect(a.propertyId).not.toBe(b.propertyId);
  });

  it('lands every acknowledged event exactly once under the right tenant and property', async () => {
    const sent: { id: string; tenant: TenantKeys; name: string }[] = [];
    for (const [t, tag] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      for (let i = 0; i < 5; i++) {
        const id = `${tag}-native-${i}`;
        const r = await native(
          t.ingestKey,
          { events: [{ event_id: id, name: 'page_view', client_id: `${tag}.1`, url: `https://${tag}.example.com/p/${i}`, ip: '81.2.69.160' }] },
          { 'user-agent': CHROME },
        );
        expect(r.status).toBe(200);
        expect(((await r.json()) as any).accepted).toBe(1);
        sent.push({ id, tenant: t, name: 'page_view' });
      }
      const r = await mp(t, {
        client_id: `${tag}.2`,
        user_agent: CHROME,
        ip_override: '2001:db8:1234:5678::1',
        events: [
          { name: 'sign_up', params: { method: `${tag}-mp`, session_id: 1700000000 } },
          { name: 'purchase', params: { method: `${tag}-mp`, value: 12.5, currency: 'EUR' } },
        ],
      });
      expect(r.status).toBe(204);
    }
    const raw = await eventually(
      () => {
        const recs = readZone(tally.dataDir, 'raw');
        return recs.length >= 14 ? recs : undefined;
      },
      30_000,
      'the archiver',
    );
    expect(raw).toHaveLength(14);
    for (const { key, record } of raw) {
      expect(key).toContain(`tenant=${record.tenant_id}/property=${record.property_id}/`);
      expect(key).toMatch(/^raw\/tenant=[^/]+\/property=\d+\/dt=\d{4}-\d{2}-\d{2}\/hr=\d{2}\/\d+-\d+-\d+\.ndjson\.gz$/);
    }
    for (const s of sent) {
      const found = raw.filter((r) => r.record.event_id === s.id);
      expect(found).toHaveLength(1);
      expect(found[0].record.tenant_id).toBe(s.tenant.organizationId);
      expect(found[0].record.property_id).toBe(s.tenant.propertyId);
      expect(found[0].record.ua).toBe(CHROME);
      expect(found[0].record.ua_source).toBe('request');
      expect(found[0].record.ip_trunc).toBe('81.2.69.0');
      expect(found[0].record.country).toBe('GB');
    }
    for (const [t, tag] of [
      [a, 'a'],
      [b, 'b'],
    ] as const) {
      const mpEvents = raw.filter((r) => r.record.protocol === 'ga4mp' && r.record.params.method === `${tag}-mp`);
      expect(mpEvents.map((r) => r.record.name).sort()).toEqual(['purchase', 'sign_up']);
      for (const r of mpEvents) {
        expect(r.record.property_id).toBe(t.propertyId);
        expect(r.record.ua).toBe(CHROME); // the payload's, not python-requests
        expect(r.record.ua_source).toBe('payload');
        expect(r.record.ip_trunc).toBe('2001:db8:1234::');
        expect(r.record.event_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/); // UUIDv7
      }
    }
  });

  it("refuses tenant A's credentials on tenant B's property", async () => {
    const before = readZone(tally.dataDir, 'raw').length;
    const wrongSecret = await mp(b, { client_id: 'x.1', events: [{ name: 'page_view' }] }, a.apiSecret);
    expect(wrongSecret.status).toBe(403);
    expect(((await wrongSecret.json()) as any).error.reason).toBe('bad_api_secret');
    const unknown = await mp(a, { client_id: 'x.1', events: [{ name: 'page_view' }] }, a.apiSecret, 'G-NOPE000000');
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as any).error.reason).toBe('unknown_measurement_id');
    // a read key is not an ingest key, and a made-up key is nothing
    expect((await native(a.readKey, { events: [{ name: 'x', client_id: '1' }] })).status).toBe(401);
    expect((await native('tk_ing_forged', { events: [{ name: 'x', client_id: '1' }] })).status).toBe(401);
    // A's ingest key writes only into A's property, whatever the payload claims
    const r = await native(a.ingestKey, {
      events: [{ event_id: 'spoof-1', name: 'page_view', client_id: '1', property_id: b.propertyId, tenant_id: b.organizationId }],
    });
    expect(r.status).toBe(200);
    const rec = await eventually(() => readZone(tally.dataDir, 'raw').find((x) => x.record.event_id === 'spoof-1'));
    expect(rec.record.property_id).toBe(a.propertyId);
    expect(rec.record.tenant_id).toBe(a.organizationId);
    expect(rec.record.params.property_id).toBe(b.propertyId); // kept as data, never as routing
    expect(readZone(tally.dataDir, 'raw').length).toBe(before + 1);
  });

  it('dead-letters refused events with a reason and still answers like GA4', async () => {
    const r = await mp(a, { client_id: 'dl.1', events: [{ name: 'ok_event' }, { name: '_reserved_prefix' }, { name: 'session_start' }] });
    expect(r.status).toBe(204);
    const dl = await eventually(() => {
      const recs = readZone(tally.dataDir, 'deadletter').filter((x) => JSON.stringify(x.record.payload).includes('dl.1'));
      return recs.length >= 2 ? recs : undefined;
    });
    expect(dl.map((d) => d.record.reason).sort()).toEqual(['invalid', 'name_reserved'].sort());
    for (const d of dl) expect(d.record.property_id).toBe(a.propertyId);
    const ok = await eventually(() => readZone(tally.dataDir, 'raw').find((x) => x.record.client_id === 'dl.1'));
    expect(ok.record.name).toBe('ok_event');
  });

  it('answers CORS preflight and validates on /debug/mp/collect without storing', async () => {
    const preflight = (origin: string) =>
      fetch(`${tally.baseUrl}/v1/collect`, { method: 'OPTIONS', headers: { origin, 'access-control-request-headers': 'authorization, content-type' } });
    const pre = await preflight('https://www.acme.example.com');
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://www.acme.example.com');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');
    // an origin no property allows is not echoed
    expect((await preflight('https://shop.example')).headers.get('access-control-allow-origin')).toBeNull();
    const dbg = await fetch(`${tally.baseUrl}/debug/mp/collect?measurement_id=${a.measurementId}&api_secret=${a.apiSecret}`, {
      method: 'POST',
      body: JSON.stringify({ client_id: 'dbg.1', events: [{ name: 'bad-name' }] }),
    });
    const body = (await dbg.json()) as any;
    expect(body.validationMessages[0]).toMatchObject({ fieldPath: 'events[0].name', validationCode: 'NAME_INVALID' });
    await new Promise((r) => setTimeout(r, 1500));
    expect(readZone(tally.dataDir, 'raw').some((x) => x.record.client_id === 'dbg.1')).toBe(false);
  });

  it('answers gzip bodies and per-event results on the native endpoint', async () => {
    const { gzipSync } = await import('node:zlib');
    const body = gzipSync(
      JSON.stringify({ events: [{ name: 'a', client_id: 'gz.1' }, { name: 'b' }, { name: 'c', client_id: 'gz.1', timestamp: 'not a date' }] }),
    );
    const r = await fetch(`${tally.baseUrl}/v1/collect`, {
      method: 'POST',
      body,
      headers: { authorization: `Bearer ${b.ingestKey}`, 'content-encoding': 'gzip' },
    });
    expect(r.status).toBe(200);
    const j = (await r.json()) as any;
    expect(j.accepted).toBe(1);
    expect(j.results.map((x: any) => x.status)).toEqual(['accepted', 'rejected', 'rejected']);
    expect(j.results[1].detail).toMatch(/client_id/);
    expect(j.results[2].detail).toMatch(/timestamp/);
  });

  it('drains on SIGTERM and records when each key was last used', async () => {
    expect(await tally.stop()).toBe(0);
    const { openDb } = await import('../../src/infra/metadata/db.js');
    const { hashSecret } = await import('../../src/tenancy/secrets.js');
    const db = await openDb({ dataDir: tally.dataDir });
    try {
      const rows = await db('api_keys').select('hash', 'scope', 'last_used_at');
      const used = (secret: string) => rows.find((r) => r.hash === hashSecret(secret))?.last_used_at;
      expect(used(a.ingestKey)).toBeTruthy();
      expect(used(a.apiSecret)).toBeTruthy();
      expect(used(b.readKey)).toBeFalsy();
    } finally {
      await db.destroy();
    }
  });
});
