import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWithService } from '../../../test/support/services.js';
import { EVENT_COLUMNS } from '../../domain/transformed-schema.js';
import { generateProperty, writeParquetPartitions, type EventRow, type WrittenPartition } from '../../query/report-fixture.testkit.js';
import { compileReport } from '../../query/report-compiler.js';
import { parseRunReportRequest } from '../../query/report-request.js';
import { redshiftDialect } from '../../query/sql-dialect.js';
import { TallyError } from '../errors.js';
import { createTestDatabase } from '../metadata/test-database.testkit.js';
import { FolderObjectStore } from '../object-store/folder.object-store.js';
import { servicesS3Store } from '../object-store/s3-store.testkit.js';
import { PostgresWarehouse } from './postgres.warehouse.js';
import { executeLoadPlan, redshiftCreateTable, redshiftLoadPlan, RedshiftWarehouse, type Statement } from './redshift.warehouse.js';

const ROLE = 'arn:aws:iam::123456789012:role/tally-redshift-copy';
const PART = { tenantId: 'org_1', propertyId: '400000001', date: '2024-03-02' };
const MANIFEST = 's3://tally/manifests/load/events/tenant=org_1/property=400000001/dt=2024-03-02/m1.json';

describe('Redshift SQL (exact text: Redshift itself cannot run here)', () => {
  it('DDL: VARCHAR(65535) strings, distributed on session_key, sorted on the partition key', () => {
    expect(redshiftCreateTable('sessions')).toBe(
      'CREATE TABLE IF NOT EXISTS sessions (tenant_id VARCHAR(65535), property_id VARCHAR(65535), session_key VARCHAR(65535), ' +
        'client_id VARCHAR(65535), user_id VARCHAR(65535), session_start_ms BIGINT, session_end_ms BIGINT, local_date DATE, ' +
        'local_hour INTEGER, landing_page VARCHAR(65535), landing_page_query VARCHAR(65535), exit_page VARCHAR(65535), ' +
        'source VARCHAR(65535), medium VARCHAR(65535), campaign VARCHAR(65535), term VARCHAR(65535), content VARCHAR(65535), ' +
        'channel_group VARCHAR(65535), referrer VARCHAR(65535), country VARCHAR(65535), region VARCHAR(65535), city VARCHAR(65535), ' +
        'language VARCHAR(65535), device_category VARCHAR(65535), browser VARCHAR(65535), os VARCHAR(65535), ' +
        'duration_s DOUBLE PRECISION, page_views INTEGER, events INTEGER, key_events INTEGER, engagement_time_ms BIGINT, ' +
        'engaged BOOLEAN, is_bot BOOLEAN, collected_source VARCHAR(65535), collected_medium VARCHAR(65535), ' +
        'collected_campaign VARCHAR(65535), collected_term VARCHAR(65535), collected_content VARCHAR(65535), ' +
        'collected_channel_group VARCHAR(65535)) DISTSTYLE KEY DISTKEY (session_key) COMPOUND SORTKEY (tenant_id, property_id, local_date)',
    );
    const events = redshiftCreateTable('events');
    expect(events).toMatch(/^CREATE TABLE IF NOT EXISTS events \(event_id VARCHAR\(65535\), tenant_id VARCHAR\(65535\), /);
    expect(events).toContain(' event_ms BIGINT, received_at BIGINT, local_date DATE, local_hour INTEGER, ');
    expect(events).toContain(' is_page_view BOOLEAN, is_key_event BOOLEAN, params VARCHAR(65535), user_props VARCHAR(65535)) ');
    expect(events.endsWith(') DISTSTYLE KEY DISTKEY (session_key) COMPOUND SORTKEY (tenant_id, property_id, local_date)')).toBe(true);
  });

  it('load plan: temp staging table, COPY from a manifest as Parquet, stray check, DELETE + INSERT in one transaction', () => {
    const plan = redshiftLoadPlan('events', PART, MANIFEST, ROLE, 'a1b2');
    const key = ['org_1', '400000001', '2024-03-02'];
    expect(plan).toEqual({
      stage: 'tally_stage_events_a1b2',
      createStage: { text: 'CREATE TEMP TABLE tally_stage_events_a1b2 (LIKE events)', values: [] },
      copy: [
        {
          text:
            "COPY tally_stage_events_a1b2 FROM 's3://tally/manifests/load/events/tenant=org_1/property=400000001/dt=2024-03-02/m1.json' " +
            "IAM_ROLE 'arn:aws:iam::123456789012:role/tally-redshift-copy' FORMAT AS PARQUET MANIFEST",
          values: [],
        },
      ],
      strayCheck: {
        text:
          'SELECT count(*) AS n FROM tally_stage_events_a1b2 WHERE tenant_id IS NULL OR property_id IS NULL OR local_date IS NULL ' +
          'OR NOT (tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE))',
        values: key,
      },
      swap: [
        { text: 'BEGIN', values: [] },
        { text: 'DELETE FROM events WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)', values: key },
        { text: 'INSERT INTO events SELECT * FROM tally_stage_events_a1b2', values: [] },
        { text: 'END', values: [] },
      ],
      dropStage: { text: 'DROP TABLE IF EXISTS tally_stage_events_a1b2', values: [] },
    });
  });

  it('an empty partition is only the DELETE, in a transaction', () => {
    const plan = redshiftLoadPlan('sessions', PART, null, ROLE, 'x');
    expect(plan.copy).toEqual([]);
    expect([plan.createStage, plan.strayCheck, plan.dropStage]).toEqual([null, null, null]);
    expect(plan.swap.map((s) => s.text)).toEqual([
      'BEGIN',
      'DELETE FROM sessions WHERE tenant_id = $1 AND property_id = $2 AND local_date = CAST($3 AS DATE)',
      'END',
    ]);
  });

  it('refuses literals that would break out of COPY, and bad partitions', () => {
    expect(() => redshiftLoadPlan('events', PART, "s3://tally/x' IAM_ROLE 'evil", ROLE, 'a')).toThrow(TallyError);
    expect(() => redshiftLoadPlan('events', PART, '/local/path.json', ROLE, 'a')).toThrow(TallyError);
    expect(() => redshiftLoadPlan('events', PART, MANIFEST, "arn:aws:iam::123456789012:role/x' --", 'a')).toThrow(TallyError);
    expect(() => redshiftLoadPlan('events', { ...PART, date: '2024-3-2' }, MANIFEST, ROLE, 'a')).toThrow(TallyError);
    expect(() => redshiftLoadPlan('events', PART, MANIFEST, ROLE, 'A;DROP')).toThrow(TallyError);
    expect(() => new RedshiftWarehouse({ url: 'postgres://x@127.0.0.1:1/db', store: new FolderObjectStore('/nonexistent'), iamRole: 'role' })).toThrow(
      TallyError,
    );
  });

  it('the query dialect: VARCHAR(65535) casts, REGEXP_INSTR with PCRE, no COLLATE, no TEXT', () => {
    const req = parseRunReportRequest(
      {
        dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }],
        dimensions: [{ name: 'pagePath' }, { name: 'hour' }],
        metrics: [{ name: 'sessions' }],
        dimensionFilter: {
          orGroup: {
            expressions: [
              { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'FULL_REGEXP', value: '/(docs|blog)/.*' } } },
              { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'PARTIAL_REGEXP', value: 'API', caseSensitive: true } } },
            ],
          },
        },
        orderBys: [{ dimension: { dimensionName: 'pagePath' } }],
      },
      { timeZone: 'UTC' },
    );
    const { sql, params } = compileReport(req, { tenantId: 't1', propertyId: 'p1' }, redshiftDialect).rows;
    expect(sql).toContain(
      "(COALESCE((regexp_instr(COALESCE(e.page_path, '(not set)'), '^(?:' || CAST($8 AS varchar(65535)) || ')$', 1, 1, 0, 'ip') > 0), FALSE) " +
        "OR COALESCE((regexp_instr(COALESCE(e.page_path, '(not set)'), CAST($9 AS varchar(65535)), 1, 1, 0, 'cp') > 0), FALSE))",
    );
    expect(sql).toContain(
      'WITH dr AS (SELECT 0 AS idx, CAST($3 AS varchar(65535)) AS name, CAST($4 AS date) AS start_date, CAST($5 AS date) AS end_date, 0 AS cmp)',
    );
    expect(sql).toContain("lpad(CAST(e.local_hour AS varchar(65535)), 2, '0')");
    expect(sql).toContain('FROM f ORDER BY d0 ASC, d0 ASC, d1 ASC, dr_idx ASC LIMIT CAST($10 AS bigint) OFFSET CAST($11 AS bigint)');
    expect(sql).not.toMatch(/COLLATE|AS text\)| ~\* |FILTER \(WHERE/);
    expect(sql).toContain('e.local_date BETWEEN CAST($6 AS date) AND CAST($7 AS date)');
    expect(params).toEqual(['t1', 'p1', 'date_range_0', '2024-03-01', '2024-03-07', '2024-03-01', '2024-03-07', '/(docs|blog)/.*', 'API', 10000, 0]);
  });
});

describeWithService('Redshift statements that PostgreSQL also accepts, run on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let dir: string;
  let url: string;
  let drop: () => Promise<void>;
  let pgw: PostgresWarehouse;
  let client: pg.Client;
  let v1: WrittenPartition[];
  const fx1 = generateProperty('org_1', '400000001', 21, 30);
  const fx2 = generateProperty('org_1', '400000001', 22, 12);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-rs-'));
    v1 = await writeParquetPartitions(fx1, dir);
    const db = await createTestDatabase(baseUrl, 'rs');
    url = db.url;
    drop = db.drop;
    pgw = new PostgresWarehouse({ url, store: new FolderObjectStore(dir) });
    await pgw.init();
    for (const p of v1) await pgw.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key]);
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await pgw?.close();
    await drop?.();
    rmSync(dir, { recursive: true, force: true });
  });

  // Stands in for COPY … FROM 's3://…' (the one statement PostgreSQL rejects): the same rows, inserted.
  const stageInsert = (stage: string, rows: EventRow[]): Statement => {
    const cols = EVENT_COLUMNS.map((c) => c.name);
    const values = rows.flatMap((r) => cols.map((c) => (r as unknown as Record<string, unknown>)[c]));
    const tuples = rows.map((_, i) => `(${cols.map((__, j) => `$${i * cols.length + j + 1}`).join(', ')})`);
    return { text: `INSERT INTO ${stage} (${cols.join(', ')}) VALUES ${tuples.join(', ')}`, values };
  };
  const count = async (date: string) => (await pgw.query<{ n: number }>('SELECT count(*) AS n FROM events WHERE local_date = CAST($1 AS DATE)', [date]))[0].n;
  const target = () => {
    const dates = new Set(fx2.events.map((e) => e.local_date));
    return v1.filter((p) => p.table === 'events' && dates.has(p.date)).sort((a, b) => a.date.localeCompare(b.date))[0];
  };

  it('stage, stray check and the DELETE + INSERT swap replace the partition; readers never see a mix', async () => {
    const t = target();
    const ref = { tenantId: t.tenantId, propertyId: t.propertyId, date: t.date };
    const oldRows = fx1.events.filter((e) => e.local_date === t.date);
    const newRows = fx2.events.filter((e) => e.local_date === t.date);
    expect(oldRows.length).not.toBe(newRows.length);
    expect(await count(t.date)).toBe(oldRows.length);

    let loading = true;
    const seen: number[] = [];
    const reader = (async () => {
      while (loading) seen.push(await count(t.date));
    })();
    for (let i = 0; i < 4; i++) {
      const rows = i % 2 ? oldRows : newRows;
      const plan = redshiftLoadPlan('events', ref, MANIFEST, ROLE, `t${i}`);
      expect(await executeLoadPlan(client, { ...plan, copy: [stageInsert(plan.stage, rows)] }, ref)).toEqual({ rows: rows.length });
      expect((await client.query('SELECT to_regclass($1) AS r', [`pg_temp.${plan.stage}`])).rows[0].r).toBeNull();
    }
    loading = false;
    await reader;
    expect(seen.length).toBeGreaterThanOrEqual(4);
    expect(seen.filter((n) => n !== oldRows.length && n !== newRows.length)).toEqual([]);
    expect(await count(t.date)).toBe(oldRows.length);
    const [row] = await pgw.query('SELECT * FROM events WHERE event_id = $1', [oldRows[0].event_id]);
    expect(row).toEqual({ ...oldRows[0] });
  });

  it('staged rows of another partition are refused and the partition is left as it was', async () => {
    const t = target();
    const ref = { tenantId: t.tenantId, propertyId: t.propertyId, date: t.date };
    const before = await count(t.date);
    const plan = redshiftLoadPlan('events', ref, MANIFEST, ROLE, 'stray');
    const strays = fx1.events.filter((e) => e.local_date !== t.date).slice(0, 3);
    await expect(executeLoadPlan(client, { ...plan, copy: [stageInsert(plan.stage, strays)] }, ref)).rejects.toBeInstanceOf(TallyError);
    expect(await count(t.date)).toBe(before);
    expect((await client.query('SELECT to_regclass($1) AS r', [`pg_temp.${plan.stage}`])).rows[0].r).toBeNull();
  });

  it('a failing INSERT rolls the DELETE back', async () => {
    const t = target();
    const ref = { tenantId: t.tenantId, propertyId: t.propertyId, date: t.date };
    const before = await count(t.date);
    const plan = redshiftLoadPlan('events', ref, MANIFEST, ROLE, 'fail');
    const broken = {
      ...plan,
      copy: [
        stageInsert(
          plan.stage,
          fx1.events.filter((e) => e.local_date === t.date),
        ),
      ],
      swap: plan.swap.map((s) => (s.text.startsWith('INSERT') ? { ...s, text: `${s.text} WHERE 1/0 = 1` } : s)),
    };
    await expect(executeLoadPlan(client, broken, ref)).rejects.toThrow(/division by zero/);
    expect(await count(t.date)).toBe(before);
    expect((await client.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]); // the session is usable: no open transaction
  });

  it('an empty partition plan empties the partition', async () => {
    const t = target();
    const ref = { tenantId: t.tenantId, propertyId: t.propertyId, date: t.date };
    expect(await executeLoadPlan(client, redshiftLoadPlan('events', ref, null, ROLE, 'e'), ref)).toEqual({ rows: 0 });
    expect(await count(t.date)).toBe(0);
  });

  it('RedshiftWarehouse: queries come back as plain JS; a load writes its manifest to S3 and removes it, whatever COPY does', async () => {
    const rs = new RedshiftWarehouse({ url, store: new FolderObjectStore(dir), iamRole: ROLE });
    expect(await rs.query('SELECT count(*) AS n, CAST($1 AS DATE) AS d FROM sessions', ['2024-03-01'])).toEqual([{ n: fx1.sessions.length, d: '2024-03-01' }]);
    // a folder store locates objects as local paths: not something COPY can read
    const p = v1[0];
    await expect(rs.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key])).rejects.toBeInstanceOf(TallyError);
    await expect(
      rs.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, ['transformed/none.parquet']),
    ).rejects.toMatchObject({ code: 'not_found' });
    await rs.close();

    const store = servicesS3Store('rs-test');
    if (!store) return;
    const onS3 = new RedshiftWarehouse({ url, store, iamRole: ROLE });
    try {
      await store.put(p.key, readFileSync(join(dir, p.key)));
      const before = (await onS3.query<{ n: number }>(`SELECT count(*) AS n FROM ${p.table}`, []))[0].n;
      // PostgreSQL rejects the COPY's Redshift options: the load fails before the swap
      await expect(onS3.loadPartition(p.table, { tenantId: p.tenantId, propertyId: p.propertyId, date: p.date }, [p.key])).rejects.toThrow(
        /syntax error|IAM_ROLE/,
      );
      expect((await onS3.query<{ n: number }>(`SELECT count(*) AS n FROM ${p.table}`, []))[0].n).toBe(before);
      expect(await store.list('manifests/')).toEqual([]);
    } finally {
      await onS3.close();
      await store.close();
    }
  });
});
