import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Warehouse } from '../../infra/warehouse/warehouse.port.js';
import { postSql, startSqlApp, type SqlApp } from './sql-app.testkit.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions, type Fixture } from '../report-fixture.testkit.js';

/**
 * Statements a hostile tenant might send, each with what must happen: refused with that reason
 * (400), or bounded. Run against every warehouse with a sandbox (DuckDB in `npm test`, PostgreSQL
 * in the services profile).
 */
export const HOSTILE_SQL: { sql: string; reason: string }[] = [
  { sql: "SELECT * FROM read_parquet('/etc/passwd')", reason: 'sql_table_function' },
  { sql: "SELECT * FROM read_csv_auto('/etc/passwd')", reason: 'sql_table_function' },
  { sql: "SELECT * FROM glob('/*')", reason: 'sql_table_function' },
  { sql: 'SELECT * FROM duckdb_tables()', reason: 'sql_table_function' },
  { sql: "SELECT * FROM '/etc/passwd'", reason: 'sql_table_not_allowed' },
  { sql: "SELECT * FROM 'transformed/events/part-0.parquet'", reason: 'sql_table_not_allowed' },
  // the rollups (and their build's scratch table) hold every tenant's rows: never a tenant's to read
  { sql: 'SELECT * FROM rollup_date_users', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT count(*) FROM rollup_geo_sessions', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM tally_rollup_scratch', reason: 'sql_table_not_allowed' },
  { sql: "COPY events TO '/tmp/tally-stolen.csv'", reason: 'sql_parse' },
  { sql: "ATTACH '/tmp/tally-other.duckdb' AS other", reason: 'sql_parse' },
  { sql: 'PRAGMA database_list', reason: 'sql_parse' },
  { sql: "SET memory_limit = '100GB'", reason: 'sql_parse' },
  { sql: 'INSTALL httpfs', reason: 'sql_parse' },
  { sql: 'LOAD httpfs', reason: 'sql_parse' },
  { sql: 'DROP TABLE events', reason: 'sql_parse' },
  { sql: 'DELETE FROM events WHERE true', reason: 'sql_parse' },
  { sql: "EXPORT DATABASE '/tmp/tally-export'", reason: 'sql_parse' },
  { sql: 'CALL pragma_version()', reason: 'sql_parse' },
  { sql: 'SELECT 1; SELECT * FROM main.events', reason: 'sql_single_statement' },
  { sql: 'SELECT * FROM events /* harmless */ ; DROP TABLE events', reason: 'sql_parse' },
  { sql: 'SELECT * FROM main.events', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM public.events', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM memory.main.events', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT count(*) FROM events -- a comment\n UNION ALL SELECT count(*) FROM main.sessions', reason: 'sql_table_not_allowed' },
  { sql: 'WITH x AS (SELECT * FROM main.events) SELECT * FROM x', reason: 'sql_table_not_allowed' },
  // a CTE is visible only in its own query: outside it the name would reach a real table
  { sql: 'SELECT * FROM (WITH tally_sql_grants AS (SELECT 1) SELECT 1) AS a, tally_sql_grants', reason: 'sql_table_not_allowed' },
  { sql: 'WITH a AS (SELECT * FROM b), b AS (SELECT 1 AS x) SELECT * FROM a', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM information_schema.tables', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM pg_catalog.pg_tables', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM sqlite_master', reason: 'sql_table_not_allowed' },
  { sql: 'SELECT * FROM pipeline_state', reason: 'sql_table_not_allowed' },
  { sql: "SELECT getenv('HOME')", reason: 'sql_function_not_allowed' },
  { sql: "SELECT current_setting('threads')", reason: 'sql_function_not_allowed' },
  { sql: "SELECT set_config('tally.tenant_id', 'other', true)", reason: 'sql_function_not_allowed' },
  { sql: "SELECT pg_read_file('/etc/passwd')", reason: 'sql_function_not_allowed' },
  { sql: 'SELECT pg_sleep(100)', reason: 'sql_function_not_allowed' },
  { sql: "SELECT list_transform([1], x -> getenv('HOME'))", reason: 'sql_function_not_allowed' },
  { sql: "SELECT main.lower('A')", reason: 'sql_function_not_allowed' },
  { sql: 'SELECT $1', reason: 'sql_parameter' },
  { sql: "SELECT * FROM events WHERE tenant_id = 'someone-else'", reason: 'sql_error' },
  { sql: 'SELECT no_such_column FROM events', reason: 'sql_error' },
  { sql: 'SELEC 1', reason: 'sql_parse' },
];

/**
 * The tenant SQL suite, for any warehouse with a sandbox: `open(dir)` returns an initialised
 * warehouse that reads Parquet objects under `dir`. Three properties are loaded: A (t1/123),
 * A's other property (t1/124) and another tenant's (t2/999); key `k-a` reads 123, `k-b` 999.
 */
export function sqlSandboxSuite(open: (dir: string) => Promise<Warehouse>): void {
  let dir: string;
  let wh: Warehouse;
  let app: SqlApp;
  let fx: Fixture;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-sql-'));
    const a = generateProperty('t1', '123', 11, 20);
    fx = mergeFixtures(a, generateProperty('t1', '124', 12, 10), generateProperty('t2', '999', 13, 20));
    wh = await open(dir);
    await loadPartitions(wh, await writeParquetPartitions(fx, dir));
    app = await startSqlApp(wh, { 'k-a': { tenantId: 't1', propertyId: '123' }, 'k-b': { tenantId: 't2', propertyId: '999' } }, { timeoutMs: 3000 });
  }, 120_000);
  afterAll(async () => {
    await app?.close();
    await wh?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const own = (propertyId: string) => fx.events.filter((e) => e.property_id === propertyId);

  it("answers a GROUP BY over the caller's property only, equal to the fixture", async () => {
    const res = await postSql(app.base, 'k-a', {
      query: 'SELECT page_path, count(*) AS views FROM events WHERE is_page_view GROUP BY page_path ORDER BY views DESC, page_path',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { columns: { name: string }[]; rows: [string, number][]; truncated: boolean; propertyId: string };
    expect(body.columns.map((c) => c.name)).toEqual(['page_path', 'views']);
    const truth = new Map<string, number>();
    for (const e of own('123')) if (e.is_page_view) truth.set(e.page_path!, (truth.get(e.page_path!) ?? 0) + 1);
    expect(new Map(body.rows.map(([p, n]) => [p, Number(n)]))).toEqual(truth);
    expect(body).toMatchObject({ truncated: false, propertyId: '123' });
  });

  it('sees only its own property in every view, whatever it filters on', async () => {
    for (const [key, propertyId] of [
      ['k-a', '123'],
      ['k-b', '999'],
    ]) {
      const res = await postSql(app.base, key, {
        query: `SELECT 'events' AS t, property_id, count(*) AS n FROM events GROUP BY property_id
                UNION ALL SELECT 'sessions', property_id, count(*) FROM sessions GROUP BY property_id
                UNION ALL SELECT 'identities', property_id, count(*) FROM identities GROUP BY property_id
                UNION ALL SELECT 'stolen', property_id, count(*) FROM events WHERE property_id IN ('123', '124', '999') GROUP BY property_id`,
      });
      expect(res.status).toBe(200);
      const rows = ((await res.json()) as { rows: [string, string, number][] }).rows;
      expect(new Set(rows.map((r) => r[1]))).toEqual(new Set([propertyId]));
      const n = Object.fromEntries(rows.filter((r) => r[0] !== 'stolen').map((r) => [r[0], Number(r[2])]));
      expect(n).toEqual({
        events: own(propertyId).length,
        sessions: fx.sessions.filter((s) => s.property_id === propertyId).length,
        identities: fx.identities.filter((s) => s.property_id === propertyId).length,
      });
    }
  });

  it('refuses another property with a key of this one (403) and answers 401 without a key', async () => {
    expect((await postSql(app.base, 'k-a', { query: 'SELECT 1', propertyId: '999' })).status).toBe(403);
    expect((await postSql(app.base, 'k-a', { query: 'SELECT 1', propertyId: '124' })).status).toBe(403);
    expect((await postSql(app.base, 'nope', { query: 'SELECT 1' })).status).toBe(401);
  });

  it.each(HOSTILE_SQL)('refuses $sql with 400 $reason', async ({ sql, reason }) => {
    const res = await postSql(app.base, 'k-a', { query: sql });
    const body = (await res.json()) as { error: { reason: string } };
    expect({ status: res.status, reason: body.error?.reason }).toEqual({ status: 400, reason });
  });

  it('bounds a huge cross join by time (504) and a huge result by rows (truncated)', async () => {
    const slow = await postSql(app.base, 'k-a', { query: 'SELECT count(*) FROM events a, events b, events c, events d, events e' });
    expect(slow.status).toBe(504);
    expect(((await slow.json()) as { error: { reason: string } }).error.reason).toBe('statement_timeout');
    const big = await postSql(app.base, 'k-a', { query: 'SELECT a.event_id, b.event_id FROM events a, events b', maxRows: 50 });
    expect(big.status).toBe(200);
    expect(big.headers.get('x-tally-truncated')).toBe('true');
    const body = (await big.json()) as { rows: unknown[]; truncated: boolean };
    expect(body.rows).toHaveLength(50);
    expect(body.truncated).toBe(true);
  });

  it('answers CSV and an Arrow stream with the same rows as JSON', async () => {
    const query = 'SELECT event_name, count(*) AS n, sum(engagement_time_ms) / 1000.0 AS secs, bool_or(is_key_event) AS k FROM events GROUP BY 1 ORDER BY 1';
    const json = ((await (await postSql(app.base, 'k-a', { query })).json()) as { rows: [string, number, number, boolean][] }).rows;
    const csv = await (await postSql(app.base, 'k-a', { query }, 'text/csv')).text();
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('event_name,n,secs,k');
    expect(lines.slice(1).map((l) => l.split(',')[0])).toEqual(json.map((r) => r[0]));
    const arrowRes = await postSql(app.base, 'k-a', { query }, 'application/vnd.apache.arrow.stream');
    expect(arrowRes.headers.get('content-type')).toContain('application/vnd.apache.arrow.stream');
    const table = tableFromIPC(new Uint8Array(await arrowRes.arrayBuffer()));
    expect(table.numRows).toBe(json.length);
    expect(table.schema.fields.map((f) => f.name)).toEqual(['event_name', 'n', 'secs', 'k']);
    expect(table.toArray().map((r) => [r.event_name, Number(r.n), Number(r.secs), r.k])).toEqual(json.map((r) => [r[0], Number(r[1]), Number(r[2]), r[3]]));
  });

  it('accepts comments, CTEs, window functions and JSON params, run as their canonical text', async () => {
    const res = await postSql(app.base, 'k-a', {
      query: `-- daily views with a running total
        WITH daily AS (SELECT local_date, count(*) AS views FROM events /* page views only */ WHERE is_page_view GROUP BY local_date)
        SELECT local_date, views, sum(views) OVER (ORDER BY local_date) AS running FROM daily ORDER BY local_date`,
    });
    expect(res.status).toBe(200);
    const rows = ((await res.json()) as { rows: [string, number, number][] }).rows;
    expect(rows.reduce((s, r) => s + Number(r[1]), 0)).toBe(own('123').filter((e) => e.is_page_view).length);
    expect(Number(rows.at(-1)![2])).toBe(own('123').filter((e) => e.is_page_view).length);
  });
}
