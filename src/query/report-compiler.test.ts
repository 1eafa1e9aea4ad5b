import { POSTGRES_TYPES } from '../infra/column-types.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../domain/property-settings.js';
import { EVENT_COLUMNS, IDENTITY_COLUMNS, SESSION_COLUMNS } from '../domain/transformed-schema.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { compileReport, type CompiledQuery } from './report-compiler.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions, type Fixture } from './report-fixture.testkit.js';
import { parseRunReportRequest } from './report-request.js';
import { runReport } from './report.service.js';
import { duckdbDialect, postgresDialect, type SqlDialect } from './sql-dialect.js';

const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: 'p1',
  timeZone: 'UTC',
  currencyCode: 'USD',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
const EVIL = "x'); DROP TABLE events; --";
const week = {
  dateRanges: [
    { startDate: '2024-03-01', endDate: '2024-03-07' },
    { startDate: '2024-03-02', endDate: '2024-03-03', name: 'mid' },
  ],
};

/** Requests that between them use every dimension, metric, filter kind and order type. */
const REQUESTS: Record<string, unknown>[] = [
  {
    metrics: [
      { name: 'activeUsers' },
      { name: 'totalUsers' },
      { name: 'newUsers' },
      { name: 'sessions' },
      { name: 'engagedSessions' },
      { name: 'engagementRate' },
      { name: 'bounceRate' },
      { name: 'averageSessionDuration' },
      { name: 'screenPageViews' },
      { name: 'screenPageViewsPerSession' },
    ],
    metricAggregations: ['TOTAL', 'MAXIMUM', 'MINIMUM'],
  },
  {
    metrics: [
      { name: 'eventCount' },
      { name: 'eventsPerSession' },
      { name: 'userEngagementDuration' },
      { name: 'keyEvents' },
      { name: 'sessionsPerUser' },
      { name: 'eventCountPerUser' },
      { name: 'screenPageViewsPerUser' },
      { name: 'sessionKeyEventRate' },
      { name: 'userKeyEventRate' },
    ],
  },
  {
    dimensions: [
      { name: 'date' },
      { name: 'dateHour' },
      { name: 'dayOfWeek' },
      { name: 'dayOfWeekName' },
      { name: 'year' },
      { name: 'month' },
      { name: 'yearMonth' },
      { name: 'day' },
      { name: 'hour' },
    ],
    metrics: [{ name: 'sessions' }, { name: 'activeUsers' }],
    limit: 100000,
  },
  {
    dimensions: [
      { name: 'pagePath' },
      { name: 'pageTitle' },
      { name: 'hostName' },
      { name: 'pageLocation' },
      { name: 'pagePathPlusQueryString' },
      { name: 'fullPageUrl' },
      { name: 'pageReferrer' },
      { name: 'eventName' },
    ],
    metrics: [{ name: 'sessions' }, { name: 'screenPageViews' }],
    limit: 100000,
  },
  {
    dimensions: [
      { name: 'landingPage' },
      { name: 'landingPagePlusQueryString' },
      { name: 'sessionSource' },
      { name: 'sessionMedium' },
      { name: 'sessionCampaignName' },
      { name: 'sessionDefaultChannelGroup' },
      { name: 'sessionSourceMedium' },
      { name: 'newVsReturning' },
    ],
    metrics: [{ name: 'sessions' }, { name: 'newUsers' }, { name: 'bounceRate' }],
    limit: 100000,
  },
  {
    dimensions: [
      { name: 'country' },
      { name: 'countryId' },
      { name: 'region' },
      { name: 'city' },
      { name: 'language' },
      { name: 'deviceCategory' },
      { name: 'browser' },
      { name: 'operatingSystem' },
      { name: 'platform' },
    ],
    metrics: [{ name: 'totalUsers' }, { name: 'engagementRate' }],
    metricAggregations: ['TOTAL'],
  },
  {
    dimensions: [{ name: 'pagePath' }],
    metrics: [{ name: 'sessions' }, { name: 'perSession', expression: 'eventCount / sessions * 2' }],
    dimensionFilter: {
      andGroup: {
        expressions: [
          {
            orGroup: {
              expressions: [
                { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'FULL_REGEXP', value: '/(docs|blog)/.*' } } },
                { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'PARTIAL_REGEXP', value: 'PRIC', caseSensitive: false } } },
                { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'BEGINS_WITH', value: "/it'" } } },
                { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'ENDS_WITH', value: '--' } } },
              ],
            },
          },
          { notExpression: { filter: { fieldName: 'country', inListFilter: { values: ['Japan', 'Atlantis-7Q', EVIL] } } } },
          { filter: { fieldName: 'hour', betweenFilter: { fromValue: { int64Value: '0' }, toValue: { doubleValue: 23.5 } } } },
          { notExpression: { filter: { fieldName: 'pageTitle', emptyFilter: {} } } },
          { notExpression: { filter: { fieldName: 'eventName', stringFilter: { matchType: 'CONTAINS', value: EVIL } } } },
        ],
      },
    },
    metricFilter: { filter: { fieldName: 'eventCount', numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '1' } } } },
    orderBys: [{ dimension: { dimensionName: 'pagePath', orderType: 'CASE_INSENSITIVE_ALPHANUMERIC' }, desc: true }],
  },
  {
    dimensions: [
      { name: 'hour' },
      { name: 'pathDevice', dimensionExpression: { concatenate: { dimensionNames: ['pagePath', 'deviceCategory'], delimiter: EVIL } } },
    ],
    metrics: [{ name: 'eventCount' }],
    orderBys: [
      { dimension: { dimensionName: 'hour', orderType: 'NUMERIC' } },
      { dimension: { dimensionName: 'dateRange' } },
      { metric: { metricName: 'sessions' }, desc: true },
    ],
    limit: 7,
    offset: 3,
  },
];

/** The Warehouse port over PGlite (real PostgreSQL, in process), enough to run compiled reports. */
function pgliteWarehouse(db: PGlite): Warehouse {
  return {
    dialect: 'postgres',
    replaceRates: () => Promise.reject(new Error('not used by the compiler tests')),
    async init() {
      for (const [t, cols] of [
        ['events', EVENT_COLUMNS],
        ['sessions', SESSION_COLUMNS],
        ['identities', IDENTITY_COLUMNS],
      ] as const) {
        await db.exec(`CREATE TABLE IF NOT EXISTS ${t} (${cols.map((c) => `${c.name} ${POSTGRES_TYPES[c.type]}`).join(', ')})`);
      }
    },
    async loadPartition() {
      throw new Error('not used: the test inserts rows directly');
    },
    async query<T>(sql: string, params: readonly unknown[]) {
      return (await db.query<T>(sql, [...params])).rows;
    },
    async close() {
      await db.close();
    },
  };
}

let dir: string;
let fx: Fixture;
let duck: DuckDbWarehouse;
let pg: Warehouse;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-compiler-'));
  const a = generateProperty('t1', 'p1', 21, 30);
  const b = generateProperty('t2', 'p1', 22, 10);
  fx = mergeFixtures(a, b);
  duck = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await duck.init();
  await loadPartitions(duck, await writeParquetPartitions(fx, dir));
  const db = new PGlite();
  pg = pgliteWarehouse(db);
  await pg.init();
  await db.query('INSERT INTO events SELECT * FROM json_populate_recordset(NULL::events, $1)', [JSON.stringify(fx.events)]);
  await db.query('INSERT INTO sessions SELECT * FROM json_populate_recordset(NULL::sessions, $1)', [JSON.stringify(fx.sessions)]);
  await db.query('INSERT INTO identities SELECT * FROM json_populate_recordset(NULL::identities, $1)', [JSON.stringify(fx.identities)]);
}, 120_000);

afterAll(async () => {
  await duck?.close();
  await pg?.close();
  rmSync(dir, { recursive: true, force: true });
});

function allQueries(body: Record<string, unknown>, d: SqlDialect): CompiledQuery[] {
  const c = compileReport(parseRunReportRequest({ ...week, ...body }, { timeZone: 'UTC' }), settings, d);
  return [c.rows, c.count, c.totals, c.extremes].filter((q): q is CompiledQuery => q !== undefined);
}

describe('compiled SQL', () => {
  it.each([
    ['duckdb', duckdbDialect],
    ['postgres', postgresDialect],
  ] as const)('%s: every table read is pinned to the tenant and property, values are bound', (_, d) => {
    for (const body of REQUESTS) {
      for (const q of allQueries(body, d)) {
        expect(q.params.slice(0, 2)).toEqual(['t1', 'p1']);
        const tenant = d.param(1, 'text');
        const property = d.param(2, 'text');
        const reads = [...q.sql.matchAll(/(FROM|JOIN) (events|sessions|identities)\b( [a-z]+)?( ON| WHERE)?/g)];
        expect(reads.length).toBeGreaterThan(0);
        for (const r of reads) {
          const after = q.sql.slice(r.index! + r[0].length, r.index! + r[0].length + 400);
          expect(after, r[0]).toMatch(new RegExp(`tenant_id = ${escape(tenant)} AND [a-z]*\\.?property_id = ${escape(property)}`));
        }
        expect(q.sql).not.toContain('DROP TABLE');
        expect(q.sql).not.toContain("/it'");
        expect(q.sql).not.toContain('Atlantis-7Q');
      }
    }
  });

  it('postgres dialect spells dates, regexes, numbers, order and parameters for PostgreSQL', () => {
    const [rows] = allQueries(REQUESTS[2], postgresDialect);
    expect(rows.sql).toContain("to_char(e.local_date, 'YYYYMMDD') || lpad(CAST(e.local_hour AS text), 2, '0')");
    expect(rows.sql).toContain('CAST(EXTRACT(DOW FROM s.local_date) AS integer)');
    expect(rows.sql).toContain('CAST($1 AS text)');
    expect(rows.sql).toMatch(/LIMIT CAST\(\$\d+ AS bigint\) OFFSET CAST\(\$\d+ AS bigint\)$/);
    const [filtered] = allQueries(REQUESTS[6], postgresDialect);
    expect(filtered.sql).toMatch(/~\* \('\^\(\?:' \|\| CAST\(\$\d+ AS text\) \|\| '\)\$'\)/);
    expect(filtered.sql).toContain('LOWER(d0) DESC');
    expect(filtered.sql).toContain('(d0 COLLATE "C") ASC');
    const [numeric] = allQueries(REQUESTS[7], postgresDialect);
    expect(numeric.sql).toMatch(/\(CASE WHEN d0 ~ '.*' THEN CAST\(d0 AS double precision\) END\) ASC NULLS FIRST/);
  });
});

describe('PostgreSQL (PGlite) and DuckDB give the same reports', () => {
  it.each(REQUESTS.map((r, i) => [i, r] as const))('request %i', async (_, body) => {
    const req = parseRunReportRequest({ ...week, ...body }, { timeZone: 'UTC' });
    const fromDuck = await runReport(duck, settings, req);
    const fromPg = await runReport(pg, settings, req);
    expect(fromDuck.rowCount ?? 0).toBeGreaterThan(0);
    // floats may differ in the last bits between engines
    expect(roundFloats(fromPg)).toEqual(roundFloats(fromDuck));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function roundFloats(x: unknown): unknown {
  return JSON.parse(JSON.stringify(x), (_, v) => (typeof v === 'string' && /^-?\d+\.\d+(e-?\d+)?$/.test(v) ? Number(v).toPrecision(12) : v));
}
