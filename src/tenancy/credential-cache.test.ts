import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../test/support/services.js';
import { openDb, type Db } from '../infra/metadata/db.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { startTestCollector } from '../ingest/collector.testkit.js';
import { CredentialCache, type CredentialSnapshot } from './credential-cache.js';
import { createTenant } from './tenant.repository.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A snapshot source that counts its reads and can be made slow. */
function countingSource(delayMs = 0) {
  const source = { reads: 0, snapshot: { keys: [], properties: [] } as CredentialSnapshot };
  const load = async () => {
    source.reads++;
    if (delayMs) await sleep(delayMs);
    return source.snapshot;
  };
  return { source, load };
}

describe('CredentialCache on a miss (issue 9 §3)', () => {
  it('concurrent misses share one refresh, which starts after them', async () => {
    const { source, load } = countingSource(50);
    const cache = new CredentialCache(load, { refreshMs: 3_600_000, missRefreshMs: 200 });
    await cache.refresh();
    await sleep(250);
    const waits = await Promise.all(Array.from({ length: 50 }, () => cache.awaitRefresh()));
    expect(waits.every(Boolean)).toBe(true);
    expect(source.reads).toBe(2);
  });

  it('unknown ids cannot make it refresh more than once per missRefreshMs', async () => {
    const { source, load } = countingSource();
    const cache = new CredentialCache(load, { refreshMs: 3_600_000, missRefreshMs: 1_000 });
    await cache.start();
    const until = Date.now() + 2_500;
    const misses: Promise<boolean>[] = [];
    while (Date.now() < until) {
      for (let i = 0; i < 20; i++) misses.push(cache.awaitRefresh());
      await sleep(10);
    }
    await Promise.all(misses);
    cache.stop();
    // the start, then at most one per second of misses
    expect(source.reads).toBeLessThanOrEqual(4);
    expect(source.reads).toBeGreaterThanOrEqual(3);
  });

  it('a miss waits a bounded time, and says so when the refresh does not finish', async () => {
    const { load } = countingSource(5_000);
    const cache = new CredentialCache(load, { refreshMs: 3_600_000, missRefreshMs: 0, missWaitMs: 300 });
    const started = Date.now();
    expect(await cache.awaitRefresh()).toBe(false);
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describeWithService('a tenant created by another process, on PostgreSQL (issue 9 §3)', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: () => Promise<void>;
  let collectorDb: Db;
  let otherDb: Db;
  let c: Awaited<ReturnType<typeof startTestCollector>>;
  beforeAll(async () => {
    const t = await createTestDatabase(baseUrl, 'miss');
    drop = t.drop;
    collectorDb = await openDb({ url: t.url, dataDir: '/nonexistent' });
    otherDb = await openDb({ url: t.url, dataDir: '/nonexistent' });
    c = await startTestCollector({ db: collectorDb });
  }, 60_000);
  afterAll(async () => {
    await c?.close();
    await collectorDb?.destroy();
    await otherDb?.destroy();
    await drop?.();
  });

  it('answers the very first requests of a tenant created on another connection', async () => {
    // the collector's cache refreshes hourly here: only the miss can make it see the tenant
    const t = await createTenant(otherDb, { name: 'Fresh', email: 'fresh@example.com', domain: 'fresh.test' });
    const [key, mp, gtag] = await Promise.all([
      c.fetch('/v1/collect', {
        method: 'POST',
        body: JSON.stringify({ events: [{ name: 'first', client_id: 'c1' }] }),
        headers: { authorization: `Bearer ${t.ingestKey}` },
      }),
      c.fetch(`/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, {
        method: 'POST',
        body: JSON.stringify({ client_id: '1.2', events: [{ name: 'first_mp' }] }),
      }),
      c.fetch(`/g/collect?v=2&tid=${t.measurementId}&cid=1.2&en=first_gtag&dl=${encodeURIComponent('https://fresh.test/')}`),
    ]);
    expect([key.status, mp.status, gtag.status]).toEqual([200, 204, 204]);
    const names = (await c.records('raw-events'))
      .filter((r) => r.property_id === t.propertyId)
      .map((r) => r.name)
      .sort();
    expect(names).toEqual(['first', 'first_gtag', 'first_mp']);
    // an unknown key is still refused, after the wait
    const started = Date.now();
    const bad = await c.fetch('/v1/collect', { method: 'POST', body: '{"events":[]}', headers: { authorization: 'Bearer tk_ing_nope' } });
    expect(bad.status).toBe(401);
    expect(Date.now() - started).toBeLessThan(4_000); // bounded at 1.5 s, with room for a loaded machine
  });
});
