import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCli, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const DEEP = '['.repeat(300_000) + ']'.repeat(300_000);

describe('bad input never gets a 5xx', () => {
  let tally: TallyProcess;
  let t: TenantKeys;
  beforeAll(async () => {
    tally = await startTally();
    t = await createTenantCli(tally.dataDir, 'Fuzzed');
  });
  afterAll(async () => {
    expect(await tally.stop()).toBe(0);
  });

  const mpUrl = () => `${tally.baseUrl}/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`;
  const post = (url: string, body: Buffer | string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers });

  it('answers malformed requests with a 4xx and a machine-readable reason', async () => {
    const cases: [string, Response, number, string][] = [
      ['truncated JSON (MP)', await post(mpUrl(), '{"client_id":"1.2","events":[{"name":"x"'), 400, 'invalid_json'],
      ['truncated JSON (native)', await post(`${tally.baseUrl}/v1/collect`, '{"events":[', { authorization: `Bearer ${t.ingestKey}` }), 400, 'invalid_json'],
      ['events not an array', await post(`${tally.baseUrl}/v1/collect`, '{"events":{}}', { authorization: `Bearer ${t.ingestKey}` }), 400, 'events_missing'],
      [
        'too many events',
        await post(`${tally.baseUrl}/v1/collect`, JSON.stringify({ events: Array(501).fill({ name: 'x', client_id: '1' }) }), {
          authorization: `Bearer ${t.ingestKey}`,
        }),
        400,
        'too_many_events',
      ],
      [
        'MP body over 130 kB',
        await post(mpUrl(), JSON.stringify({ client_id: '1.2', events: [{ name: 'x', params: { p: 'x'.repeat(140_000) } }] })),
        413,
        'body_too_large',
      ],
      [
        'native body over 1 MB',
        await post(`${tally.baseUrl}/v1/collect`, 'x'.repeat(1_100_000), { authorization: `Bearer ${t.ingestKey}` }),
        413,
        'body_too_large',
      ],
      ['unknown measurement id', await post(`${tally.baseUrl}/mp/collect?measurement_id=G-UNKNOWN123&api_secret=x`, '{}'), 404, 'unknown_measurement_id'],
      ['no api secret', await post(`${tally.baseUrl}/mp/collect?measurement_id=${t.measurementId}`, '{}'), 401, 'api_secret_missing'],
      [
        'broken gzip',
        await post(`${tally.baseUrl}/v1/collect`, Buffer.from([0x1f, 0x8b, 0x08, 1, 2, 3]), { authorization: `Bearer ${t.ingestKey}` }),
        400,
        'invalid_gzip',
      ],
      ['GET on an ingest path', await fetch(`${tally.baseUrl}/v1/collect`), 405, 'method_not_allowed'],
      // JSON.parse takes nesting JSON.stringify overflows on: refused whole, nothing stored
      [
        'a param nested 300 000 deep (native)',
        await post(`${tally.baseUrl}/v1/collect`, `{"events":[{"name":"x","client_id":"c1","params":{"d":${DEEP}}}]}`, {
          authorization: `Bearer ${t.ingestKey}`,
        }),
        400,
        'too_deeply_nested',
      ],
    ];
    for (const [what, res, status, reason] of cases) {
      expect(res.status, what).toBe(status);
      const body = (await res.json()) as any;
      expect(body.error.reason, what).toBe(reason);
      expect(typeof body.error.message, what).toBe('string');
    }
    // PostHog's own error shape
    const ph = await post(`${tally.baseUrl}/capture`, `{"api_key":"${t.ingestKey}","event":"x","distinct_id":"d","properties":{"a":${DEEP}}}`);
    expect([ph.status, ((await ph.json()) as any).code]).toEqual([400, 'invalid_payload']);
  });

  it('accepts wrong types as dead letters with a 2xx, per event', async () => {
    const mp = await post(mpUrl(), JSON.stringify({ client_id: 12, events: [{ name: 5 }, { name: 'ok', params: { x: { nested: true } } }] }));
    expect(mp.status).toBe(204);
    const nat = await post(`${tally.baseUrl}/v1/collect`, JSON.stringify({ events: [{ name: ['x'], client_id: 1 }, { name: 'ok', client_id: {} }, 7, null] }), {
      authorization: `Bearer ${t.ingestKey}`,
    });
    expect(nat.status).toBe(200);
    const j = (await nat.json()) as any;
    expect(j.accepted).toBe(0);
    expect(j.rejected).toBe(4);
  });

  it('survives 10 000 random byte strings on every ingest endpoint', async () => {
    const targets = [mpUrl(), `${tally.baseUrl}/debug/mp/collect`, `${tally.baseUrl}/v1/collect`];
    const statuses = new Map<number, number>();
    let next = 0;
    const worker = async () => {
      while (next < 10_000) {
        const i = next++;
        const body = i % 5 === 0 ? Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08]), randomBytes(i % 200)]) : randomBytes(1 + (i % 2048));
        const r = await post(targets[i % 3], body, { authorization: `Bearer ${t.ingestKey}`, 'content-type': i % 2 ? 'text/plain' : 'application/json' });
        await r.arrayBuffer();
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 16 }, worker));
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    expect(total).toBe(10_000);
    for (const status of statuses.keys()) expect(status, JSON.stringify([...statuses])).toBeLessThan(500);
    expect((await fetch(`${tally.baseUrl}/healthz`)).status).toBe(200);
    // and it still ingests
    const ok = await post(`${tally.baseUrl}/v1/collect`, JSON.stringify({ events: [{ name: 'after_fuzz', client_id: '1' }] }), {
      authorization: `Bearer ${t.ingestKey}`,
    });
    expect(ok.status).toBe(200);
  });
});
