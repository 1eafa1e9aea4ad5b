import { afterAll, beforeAll, expect, it } from 'vitest';
import { PipelineStateRepository } from '../../../jobs/pipeline-state.repository.js';
import { UsageMeter } from '../../billing/usage-meter.js';
import { CredentialCache } from '../../tenancy/credential-cache.js';
import { hashSecret } from '../../tenancy/secrets.js';
import { createTenant, getProperty, insertKey, loadCredentials, revokeKey } from '../../tenancy/tenant.repository.js';
import { TallyError } from '../errors.js';
import { createLogger } from '../logger.js';
import type { Db } from './db.js';

/**
 * The metadata contract: tenancy, credentials, usage metering and pipeline bookkeeping behave the
 * same on every metadata DB (PGlite, PostgreSQL). `open()` returns a migrated, empty DB. Runs in
 * a far-east time zone so a DATE read back as a local-midnight Date would show the wrong day.
 */
export function metadataContract(open: () => Promise<Db>): void {
  let db: Db;
  const tz = process.env.TZ;
  beforeAll(async () => {
    process.env.TZ = 'Pacific/Kiritimati';
    db = await open();
  });
  afterAll(async () => {
    await db?.destroy();
    process.env.TZ = tz;
    if (tz === undefined) delete process.env.TZ;
  });

  it('creates a tenant whose keys resolve through the credential cache, with plain JS types', async () => {
    const t = await createTenant(db, { name: 'Acme', email: 'Owner@Acme.test', domain: 'acme.test', timeZone: 'Europe/Berlin' });
    expect(t.propertyId).toMatch(/^\d+$/);
    const other = await createTenant(db, { name: 'Beta', email: 'owner@beta.test', domain: 'beta.test' });
    expect(Number(other.propertyId)).toBe(Number(t.propertyId) + 1);

    const snap = await loadCredentials(db);
    const prop = snap.properties.find((p) => p.propertyId === t.propertyId)!;
    expect(prop).toEqual({
      tenantId: t.organizationId,
      propertyId: t.propertyId,
      measurementId: t.measurementId,
      siteId: t.siteId,
      domain: 'acme.test',
      allowedHostnames: [],
      timeZone: 'Europe/Berlin',
      currencyCode: 'USD',
      sessionTimeoutMinutes: 30,
      engagedSessionSeconds: 10,
      keyEvents: ['purchase'],
      planId: 'free',
      monthlyEventQuota: 1_000_000,
      // the free plan's hard cap: twice its included events (src/domain/plans.ts)
      quotaHardCap: 2_000_000,
      rateLimitPerSecond: 1_000,
      rateBurst: 10_000,
      // the retroactive rules' defaults: no ranges (filter active), no extra bot patterns, GA4's channel rules
      internalTraffic: { filter: 'active', rules: [] },
      botPatterns: [],
      channelRules: null,
    });
    expect(t.siteId).toMatch(/^[0-9a-f-]{36}$/);
    expect(other.siteId).not.toBe(t.siteId);
    for (const k of snap.keys) expect(typeof k.property_id).toBe('string');
    expect(
      snap.keys
        .filter((k) => k.property_id === t.propertyId)
        .map((k) => k.scope)
        .sort(),
    ).toEqual(['ingest', 'mp_secret', 'read']);
    expect(await getProperty(db, t.propertyId)).toEqual(prop);
    expect(await getProperty(db, 'not-a-number')).toBeNull();
    // the owner's email is stored once, lower-cased
    expect((await db('users').where({ email: 'owner@acme.test' })).length).toBe(1);

    const cache = new CredentialCache(() => loadCredentials(db), { refreshMs: 60_000 });
    await cache.refresh();
    expect(cache.resolveKey(t.ingestKey, 'ingest')?.propertyId).toBe(t.propertyId);
    expect(cache.resolveKey(t.readKey, 'read')?.propertyId).toBe(t.propertyId);
    expect(cache.resolveKey(t.readKey, 'ingest')).toBeNull();
    expect(cache.resolveKey(other.readKey, 'read')?.tenantId).toBe(other.organizationId);
    expect(cache.resolveMeasurement(t.measurementId, t.apiSecret)).toEqual({ property: prop });
    expect(cache.resolveMeasurement(t.measurementId, other.apiSecret)).toEqual({ error: 'bad_api_secret' });
    expect(cache.resolveMeasurement('G-NOPE', t.apiSecret)).toEqual({ error: 'unknown_measurement_id' });
    expect(cache.property(t.propertyId)).toEqual(prop);
  });

  it('revokes a key: the cache stops resolving it; a second revoke is not_found; another tenant cannot revoke it', async () => {
    const t = await createTenant(db, { name: 'Gamma', email: 'owner@gamma.test', domain: 'gamma.test' });
    const other = await createTenant(db, { name: 'Delta', email: 'owner@delta.test', domain: 'delta.test' });
    const extra = await insertKey(db, t.organizationId, t.propertyId, 'read', 'second read key');
    const cache = new CredentialCache(() => loadCredentials(db), { refreshMs: 60_000 });
    await cache.refresh();
    expect(cache.resolveKey(extra, 'read')?.propertyId).toBe(t.propertyId);

    const row = await db('api_keys')
      .where({ hash: hashSecret(extra) })
      .first();
    await expect(revokeKey(db, other.organizationId, row.id)).rejects.toMatchObject({ code: 'not_found' });
    await revokeKey(db, t.organizationId, row.id);
    await expect(revokeKey(db, t.organizationId, row.id)).rejects.toBeInstanceOf(TallyError);
    await cache.refresh();
    expect(cache.resolveKey(extra, 'read')).toBeNull();
    expect(cache.resolveKey(t.readKey, 'read')?.propertyId).toBe(t.propertyId);
    const revoked = await db('api_keys').where({ id: row.id }).first();
    expect(new Date(revoked.revoked_at).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it('the usage meter adds to usage_hourly per property and hour, across flushes', async () => {
    const t = await createTenant(db, { name: 'Usage', email: 'owner@usage.test', domain: 'usage.test' });
    const meter = new UsageMeter(db, createLogger('silent'), 60_000);
    const h0 = Date.UTC(2026, 0, 31, 23, 0, 0);
    meter.record(t.organizationId, t.propertyId, h0 + 5, 3, 1);
    meter.record(t.organizationId, t.propertyId, h0 + 3_599_999, 2, 0);
    meter.record(t.organizationId, t.propertyId, h0 + 3_600_000, 7, 0);
    await meter.flush();
    meter.record(t.organizationId, t.propertyId, h0 + 60_000, 10, 2);
    await meter.stop();
    const rows = await db('usage_hourly').where({ property_id: t.propertyId }).orderBy('hour');
    expect(rows.map((r) => ({ tenant: r.tenant_id, hour: new Date(r.hour).toISOString(), events: Number(r.events), dead: Number(r.dead_letters) }))).toEqual([
      { tenant: t.organizationId, hour: '2026-01-31T23:00:00.000Z', events: 15, dead: 3 },
      { tenant: t.organizationId, hour: '2026-02-01T00:00:00.000Z', events: 7, dead: 0 },
    ]);
  });

  it('the pipeline-state repository: raw objects -> pending transforms -> partitions -> pending loads -> loaded', async () => {
    const state = new PipelineStateRepository(db);
    const big = 1_767_225_600_123; // beyond 2^31: bigint columns must come back as exact numbers
    await state.recordRawObjects([
      {
        key: 'raw/tenant=T/property=900/dt=2026-01-01/hr=00/0-0-9.ndjson.gz',
        tenantId: 'T',
        propertyId: '900',
        records: 10,
        minEventMs: big,
        maxEventMs: big + 5_000,
      },
      {
        key: 'raw/tenant=T/property=900/dt=2026-01-01/hr=01/0-10-19.ndjson.gz',
        tenantId: 'T',
        propertyId: '900',
        records: 10,
        minEventMs: big + 3_600_000,
        maxEventMs: big + 3_700_000,
      },
      { key: 'raw/tenant=U/property=901/dt=2026-01-01/hr=00/1-0-0.ndjson.gz', tenantId: 'U', propertyId: '901', records: 1, minEventMs: big, maxEventMs: big },
    ]);
    const pending = (await state.pendingTransforms())
      .filter((p) => ['900', '901'].includes(p.propertyId))
      .sort((a, b) => a.propertyId.localeCompare(b.propertyId));
    expect(pending.map(({ uptoSeq: _, afterSeq: __, ...p }) => p)).toEqual([
      {
        tenantId: 'T',
        propertyId: '900',
        minEventMs: big,
        maxEventMs: big + 3_700_000,
        spans: expect.arrayContaining([
          [big, big + 5_000],
          [big + 3_600_000, big + 3_700_000],
        ]),
      },
      { tenantId: 'U', propertyId: '901', minEventMs: big, maxEventMs: big, spans: [[big, big]] },
    ]);
    expect(typeof pending[0].uptoSeq).toBe('number');
    expect((await state.allRawSpans('900')).length).toBe(2);
    // the objects of a cycle: after the watermark, up to the cycle's seq, in seq order; a rebuild's context by event time
    expect(pending[0].afterSeq).toBe(await state.transformedSeq('900'));
    const keys900 = await state.rawObjectKeys('900', { afterSeq: pending[0].afterSeq, uptoSeq: pending[0].uptoSeq });
    expect(keys900).toEqual([
      'raw/tenant=T/property=900/dt=2026-01-01/hr=00/0-0-9.ndjson.gz',
      'raw/tenant=T/property=900/dt=2026-01-01/hr=01/0-10-19.ndjson.gz',
    ]);
    expect(await state.rawObjectKeys('900', { afterSeq: pending[0].afterSeq, uptoSeq: pending[0].uptoSeq, fromEventMs: big + 3_650_000 })).toEqual([
      keys900[1],
    ]);
    expect(await state.rawObjectKeys('900', { afterSeq: pending[0].uptoSeq, uptoSeq: pending[0].uptoSeq })).toEqual([]);

    const parts = [
      {
        tenantId: 'T',
        propertyId: '900',
        table: 'events' as const,
        date: '2026-01-01',
        keys: ['transformed/events/tenant=T/property=900/dt=2026-01-01/part-0.parquet'],
        rows: 20,
      },
      {
        tenantId: 'T',
        propertyId: '900',
        table: 'sessions' as const,
        date: '2026-01-01',
        keys: ['transformed/sessions/tenant=T/property=900/dt=2026-01-01/part-0.parquet'],
        rows: 4,
      },
    ];
    await state.markTransformed('T', '900', pending[0].uptoSeq, parts);
    expect(await state.transformedSeq('900')).toBe(pending[0].uptoSeq);
    // compaction candidates: partitions of more than one file before a date
    const twoFiles = {
      ...parts[0],
      date: '2025-12-30',
      keys: ['transformed/events/tenant=T/property=900/dt=2025-12-30/c-1.parquet', 'transformed/events/tenant=T/property=900/dt=2025-12-30/c-2.parquet'],
    };
    await state.markTransformed('T', '900', pending[0].uptoSeq, [twoFiles]);
    expect(await state.partitionsWithSeveralFiles('2025-12-31', '900')).toEqual([twoFiles]);
    expect(await state.partitionsWithSeveralFiles('2025-12-30', '900')).toEqual([]);
    await state.markTransformed('T', '900', pending[0].uptoSeq, [{ ...twoFiles, keys: [twoFiles.keys[0]] }]);
    expect(await state.partitionsWithSeveralFiles('2025-12-31', '900')).toEqual([]);
    await state.markLoaded({ ...twoFiles }, (await state.pendingLoads('900')).find((l) => l.date === '2025-12-30')!.transformedAt, 20);
    expect((await state.pendingTransforms()).map((p) => p.propertyId)).not.toContain('900');
    const loads = await state.pendingLoads('900');
    expect(loads.map(({ transformedAt: _, ...p }) => p)).toEqual([parts[0], parts[1]]);
    for (const l of loads) expect(l.transformedAt).toBeInstanceOf(Date);

    await state.markLoaded(loads[0], loads[0].transformedAt, 20);
    expect((await state.pendingLoads('900')).map((p) => p.table)).toEqual(['sessions']);
    await state.markLoaded(loads[1], loads[1].transformedAt, 4);
    expect(await state.pendingLoads('900')).toEqual([]);
    const loadedOnce = await state.loadVersion('900');
    expect(loadedOnce).toEqual(expect.any(String));
    expect(await state.loadVersion('901')).toBeNull();
    const row = await db('partitions').where({ property_id: '900', table_name: 'events' }).first();
    expect(Number(row.loaded_rows)).toBe(20);

    // a newer transform of the same partition makes it pending again; loading the old one is a no-op
    await state.markTransformed('T', '900', pending[0].uptoSeq, [parts[0]]);
    const again = await state.pendingLoads('900');
    expect(again.map((p) => p.date)).toEqual(['2026-01-01']);
    await state.markLoaded(again[0], loads[0].transformedAt, 1);
    expect(await state.pendingLoads('900')).toHaveLength(1);
    // a reload (a replay, late data) moves the load version the report cache keys on
    await state.markLoaded(again[0], again[0].transformedAt, 1);
    const reloaded = await state.loadVersion('900');
    expect(reloaded).not.toBe(loadedOnce);
    // so does a loaded partition forgotten without a newer load (retention: the latest load stays)
    const [, older] = await db('partitions').where({ property_id: '900' }).whereNotNull('loaded_at').orderBy('loaded_at', 'desc');
    await db('partitions').where({ property_id: '900', table_name: older.table_name, dt: older.dt }).delete();
    expect(await state.loadVersion('900')).not.toBe(reloaded);
  });

  it('the currency rates version: none before a refresh, then moved by each one', async () => {
    const state = new PipelineStateRepository(db);
    expect(await state.ratesVersion()).toBeNull();
    await state.ratesRefreshed({ rates: 1000, lastPublished: '2026-11-06' });
    const first = await state.ratesVersion();
    expect(first).toEqual(expect.any(String));
    await state.ratesRefreshed({ rates: 1001, lastPublished: '2026-11-07' });
    expect(await state.ratesVersion()).not.toBe(first);
    expect(Number((await db('fx_rates_refresh').count({ n: '*' }).first())?.n)).toBe(1);
  });

  it('"complete up to": the property creation, then the mark of the last run that left nothing pending', async () => {
    const state = new PipelineStateRepository(db);
    const t = await createTenant(db, { name: 'Complete', email: 'owner@complete.test', domain: 'complete.test' });
    const created = await state.completeUpTo(t.propertyId);
    expect(created).toBeInstanceOf(Date);
    expect(Math.abs(created!.getTime() - Date.now())).toBeLessThan(60_000);
    expect(await state.completeUpTo('999999999')).toBeNull();
    expect(await state.completeUpTo('x')).toBeNull();

    const raw = (n: number) => ({
      key: `raw/tenant=${t.organizationId}/property=${t.propertyId}/dt=2026-02-01/hr=00/0-${n}-${n}.ndjson.gz`,
      tenantId: t.organizationId,
      propertyId: t.propertyId,
      records: 1,
      minEventMs: 1,
      maxEventMs: 1,
    });
    await state.recordRawObjects([raw(1)]);
    const mark = new Date(created!.getTime() + 5_000);
    const upto = await state.maxRawSeq();
    await state.recordRawObjects([raw(2)]); // archived after the run's snapshot: does not hold it back
    await state.markComplete(mark, upto);
    expect(await state.completeUpTo(t.propertyId)).toEqual(created); // raw(1) not transformed

    const part = { tenantId: t.organizationId, propertyId: t.propertyId, table: 'events' as const, date: '2026-02-01', keys: ['k'], rows: 1 };
    await state.markTransformed(t.organizationId, t.propertyId, upto, [part]);
    await state.markComplete(mark, upto, t.propertyId);
    expect(await state.completeUpTo(t.propertyId)).toEqual(created); // transformed, not loaded

    const [load] = await state.pendingLoads(t.propertyId);
    await state.markLoaded(load, load.transformedAt, 1);
    await state.markComplete(mark, upto, '1'); // another property only
    expect(await state.completeUpTo(t.propertyId)).toEqual(created);
    await state.markComplete(mark, upto, t.propertyId);
    expect(await state.completeUpTo(t.propertyId)).toEqual(mark);
    await state.markComplete(new Date(mark.getTime() - 1_000), upto); // never back
    expect(await state.completeUpTo(t.propertyId)).toEqual(mark);
    // raw(2) is pending now: a later run that saw it cannot move the mark until it is loaded
    await state.markComplete(new Date(mark.getTime() + 9_000), await state.maxRawSeq());
    expect(await state.completeUpTo(t.propertyId)).toEqual(mark);
  });

  it('raw object sequence numbers become visible in order, even with concurrent archiver batches', async () => {
    const state = new PipelineStateRepository(db);
    const visibleAt: { max: number; seen: Set<number> }[] = [];
    let writing = true;
    const reader = (async () => {
      while (writing) {
        const rows = await db('raw_objects').where('key', 'like', 'raw/tenant=C/%').select('seq');
        const seqs = rows.map((r) => Number(r.seq));
        visibleAt.push({ max: Math.max(0, ...seqs), seen: new Set(seqs) });
      }
    })();
    await Promise.all(
      Array.from({ length: 24 }, (_, i) =>
        state.recordRawObjects(
          Array.from({ length: 3 }, (__, j) => ({
            key: `raw/tenant=C/property=902/dt=2026-01-01/hr=00/${i}-${j}-${j}.ndjson.gz`,
            tenantId: 'C',
            propertyId: '902',
            records: 1,
            minEventMs: 1,
            maxEventMs: 1,
          })),
        ),
      ),
    );
    writing = false;
    await reader;
    const all = (await db('raw_objects').where('key', 'like', 'raw/tenant=C/%').select('seq')).map((r) => Number(r.seq));
    expect(all).toHaveLength(72);
    expect(visibleAt.length).toBeGreaterThan(0);
    // a seq below one already visible must have been visible too
    const late = visibleAt.flatMap((v) => all.filter((s) => s < v.max && !v.seen.has(s)));
    expect(late).toEqual([]);
  });
}
