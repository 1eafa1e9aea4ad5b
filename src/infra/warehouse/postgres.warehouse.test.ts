import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateProperty, writeParquetPartitions } from '../../query/report-fixture.testkit.js';
import { describeWithService } from '../../../test/support/services.js';
import { createTestDatabase } from '../metadata/test-database.testkit.js';
import { ROLLUP_TABLES } from '../../domain/rollups.js';
import { SESSION_COLUMNS } from '../../domain/transformed-schema.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { servicesS3Store } from '../object-store/s3-store.testkit.js';
import { PostgresWarehouse } from './postgres.warehouse.js';
import { warehouseContract } from './warehouse.contract.js';

describeWithService('PostgresWarehouse', 'postgres', 'DATABASE_URL', (baseUrl) => {
  const drops: (() => Promise<void>)[] = [];
  const fresh = async () => {
    const t = await createTestDatabase(baseUrl, 'wh');
    drops.push(t.drop);
    return t.url;
  };
  afterAll(async () => {
    for (const d of drops) await d();
  });

  describe('passes the warehouse contract (objects in a folder)', () => {
    warehouseContract(async (root) => new PostgresWarehouse({ url: await fresh(), store: new FolderObjectStore(root) }));
  });

  it('indexes every table and rollup on (tenant_id, property_id, local_date) and maps the column types', async () => {
    const wh = new PostgresWarehouse({ url: await fresh(), store: new FolderObjectStore('/nonexistent') });
    await Promise.all([wh.init(), wh.init()]);
    const idx = await wh.query<{ tablename: string; indexdef: string }>(
      `SELECT tablename, indexdef FROM pg_indexes WHERE indexname LIKE '%partition_idx' ORDER BY tablename`,
      [],
    );
    expect(idx.map((i) => [i.tablename, /\(tenant_id, property_id, local_date\)/.test(i.indexdef)])).toEqual(
      ['events', 'identities', 'items', 'sessions', ...ROLLUP_TABLES.map((t) => t.name)].sort().map((t) => [t, true]),
    );
    const types = await wh.query<{ column_name: string; data_type: string }>(
      `SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'events' AND column_name = ANY($1::text[])`,
      ['{event_ms,local_date,local_hour,is_bot,page_path}'],
    );
    expect(Object.fromEntries(types.map((t) => [t.column_name, t.data_type]))).toEqual({
      event_ms: 'bigint',
      local_date: 'date',
      local_hour: 'integer',
      is_bot: 'boolean',
      page_path: 'text',
    });
    await wh.close();
  });

  // the sessions contract gained collected_* (last non-direct click): an older table gets them on init
  it('adds the contract columns a table created earlier lacks, in contract order', async () => {
    const url = await fresh();
    const old = new PostgresWarehouse({ url, store: new FolderObjectStore('/nonexistent') });
    await old.init();
    for (const c of SESSION_COLUMNS.filter((x) => x.name.startsWith('collected_'))) await old.query(`ALTER TABLE sessions DROP COLUMN ${c.name}`, []);
    await old.close();
    const wh = new PostgresWarehouse({ url, store: new FolderObjectStore('/nonexistent') });
    await wh.init();
    const cols = await wh.query<{ column_name: string }>(
      `SELECT column_name FROM information_schema.columns WHERE table_name = 'sessions' ORDER BY ordinal_position`,
      [],
    );
    expect(cols.map((c) => c.column_name)).toEqual(SESSION_COLUMNS.map((c) => c.name));
    await wh.close();
  });

  it('cancels a statement past its timeout (deadline_exceeded) and refuses a regex its dialect cannot compile (invalid_argument)', async () => {
    const wh = new PostgresWarehouse({ url: await fresh(), store: new FolderObjectStore('/nonexistent') });
    try {
      const t0 = Date.now();
      await expect(wh.query('SELECT pg_sleep(5)', [], { timeoutMs: 200 })).rejects.toMatchObject({ code: 'deadline_exceeded' });
      expect(Date.now() - t0).toBeLessThan(4_000);
      // RE2 takes a{300}; PostgreSQL's regex engine stops at 255 repetitions
      await expect(wh.query("SELECT 'a' ~ $1 AS m", ['a{300}'], { timeoutMs: 5_000 })).rejects.toMatchObject({ code: 'invalid_argument' });
      await expect(wh.query("SELECT 'a' ~ $1 AS m", ['a{300}'])).rejects.toMatchObject({ code: 'invalid_argument' });
      // the timeout was local to its transaction: the pooled connections keep none
      expect(await wh.query<{ t: string }>('SHOW statement_timeout', [])).toEqual([{ statement_timeout: '0' }]);
    } finally {
      await wh.close();
    }
  });

  it('two concurrent loads of the same (empty) partition leave its rows once', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tally-wh-race-'));
    const wh = new PostgresWarehouse({ url: await fresh(), store: new FolderObjectStore(dir) });
    try {
      const fx = generateProperty('t8', 'p8', 12, 40);
      const p = (await writeParquetPartitions(fx, dir)).find((x) => x.table === 'events')!;
      await wh.init();
      const ref = { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date };
      const results = await Promise.all([1, 2, 3].map(() => wh.loadPartition('events', ref, [p.key])));
      await expect(wh.loadPartition('events', ref, [p.key, 'transformed/events/gone.parquet'])).rejects.toMatchObject({ code: 'not_found' });
      const expected = fx.events.filter((e) => e.local_date === p.date).length;
      expect(results.map((r) => r.rows)).toEqual([expected, expected, expected]);
      expect((await wh.query<{ n: number }>('SELECT count(*) AS n FROM events', []))[0].n).toBe(expected);
    } finally {
      await wh.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('loads objects from S3 (downloaded to a temp file first: no httpfs offline)', async () => {
    const store = servicesS3Store('wh-test');
    if (!store) return;
    const dir = mkdtempSync(join(tmpdir(), 'tally-wh-s3-'));
    const wh = new PostgresWarehouse({ url: await fresh(), store });
    try {
      const fx = generateProperty('t9', 'p9', 11, 8);
      const parts = await writeParquetPartitions(fx, dir);
      for (const p of parts) await store.put(p.key, readFileSync(join(dir, p.key)));
      expect(store.locate(parts[0].key)).toMatch(/^s3:\/\//);
      await wh.init();
      let rows = 0;
      for (const p of parts) rows += (await wh.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key])).rows;
      expect(rows).toBe(fx.events.length + fx.sessions.length + fx.identities.length);
      const e = fx.events[3];
      expect((await wh.query('SELECT * FROM events WHERE event_id = $1', [e.event_id]))[0]).toEqual({ ...e });
      const missing = parts[0];
      await expect(wh.loadPartition(missing.table, { tenantId: 't9', propertyId: 'p9', date: missing.date }, [`${missing.key}.gone`])).rejects.toMatchObject({
        code: 'not_found',
      });
    } finally {
      await wh.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
