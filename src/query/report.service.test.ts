import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../domain/property-settings.js';
import { describeWithService } from '../../test/support/services.js';
import { createTestDatabase } from '../infra/metadata/test-database.testkit.js';
import { FolderObjectStore } from '../infra/object-store/folder.object-store.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PostgresWarehouse } from '../infra/warehouse/postgres.warehouse.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { COUNTRY_NAMES } from './country-names.js';
import {
  ALL_METRICS,
  firstSessionKeys,
  generateProperty,
  groundTruth,
  loadPartitions,
  PAGES,
  writeParquetPartitions,
  type EventRow,
  type Fixture,
  type SessionRow,
  type Truth,
  type TruthQuery,
  type WrittenPartition,
  mergeFixtures,
} from './report-fixture.testkit.js';
import { parseRunReportRequest } from './report-request.js';
import type { RunReportResponse } from './report-response.js';
import { runReport } from './report.service.js';

const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: 'p1',
  timeZone: 'UTC',
  currencyCode: 'EUR',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
const START = '2024-03-01';
const END = '2024-03-07';

let dir: string;
let wh: Warehouse;
let fx: Fixture;
let parts: WrittenPartition[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-report-'));
  const own = generateProperty('t1', 'p1', 1, 60);
  // Same property id under another tenant, and another property of the same tenant: never visible.
  const other = generateProperty('t2', 'p1', 2, 30);
  const sibling = generateProperty('t1', 'p2', 3, 30);
  fx = mergeFixtures(own, other, sibling);
  parts = await writeParquetPartitions(fx, dir);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Opens an empty warehouse reading objects under `dir`; the suite loads the fixture into it. */
function onWarehouse(open: () => Promise<Warehouse>): void {
  beforeAll(async () => {
    wh = await open();
    await wh.init();
    await loadPartitions(wh, parts);
  });
  afterAll(async () => wh?.close());
  reportSuite();
}

describe('report service on DuckDB', () => {
  onWarehouse(() => DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) }));
});

describeWithService('report service on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  onWarehouse(async () => {
    const db = await createTestDatabase(baseUrl, 'report');
    drop = db.drop;
    return new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) });
  });
});

// Redshift cannot run here: its dialect's SQL runs on PostgreSQL, which accepts all of it.
describeWithService('report service, Redshift dialect on PostgreSQL', 'postgres', 'DATABASE_URL', (baseUrl) => {
  let drop: (() => Promise<void>) | undefined;
  afterAll(async () => drop?.());
  onWarehouse(async () => {
    const db = await createTestDatabase(baseUrl, 'report_rs', { byteOrderCollation: true });
    drop = db.drop;
    const pgw = new PostgresWarehouse({ url: db.url, store: new FolderObjectStore(dir) });
    return {
      dialect: 'redshift',
      init: () => pgw.init(),
      loadPartition: (t, p, k) => pgw.loadPartition(t, p, k),
      replaceRates: (rows) => pgw.replaceRates(rows),
      query: (sql, params) => pgw.query(sql, params),
      close: () => pgw.close(),
    } satisfies Warehouse;
  });
});

const report = (body: Record<string, unknown>) =>
  runReport(wh, settings, parseRunReportRequest({ dateRanges: [{ startDate: START, endDate: END }], ...body }, { timeZone: 'UTC' }));

const ymd = (d: string) => d.replace(/-/g, '');
const countryName = (c: string | null) => (c ? (COUNTRY_NAMES.get(c) ?? c) : '(not set)');

function truth(q: Partial<TruthQuery> & Pick<TruthQuery, 'eventKey'>): Map<string, Truth> {
  return groundTruth(fx, { tenantId: 't1', propertyId: 'p1', start: START, end: END, ...q });
}

function rowsByKey(res: RunReportResponse): Map<string, Record<string, string>> {
  const out = new Map<string, Record<string, string>>();
  for (const row of res.rows ?? []) {
    const values: Record<string, string> = {};
    res.metricHeaders!.forEach((h, i) => (values[h.name] = row.metricValues[i].value));
    out.set(row.dimensionValues.map((v) => v.value).join('|'), values);
  }
  return out;
}

/** The report equals the ground truth, metric by metric, for every non-empty row. */
function expectTruth(res: RunReportResponse, expected: Map<string, Truth>, metrics: readonly (keyof Truth)[]) {
  const got = rowsByKey(res);
  const want = [...expected].filter(([, t]) => metrics.some((m) => t[m] !== 0));
  expect([...got.keys()].sort()).toEqual(want.map(([k]) => k).sort());
  for (const [key, t] of want) {
    for (const m of metrics) {
      const v = got.get(key)![m];
      expect(typeof v).toBe('string');
      if (Number.isInteger(t[m]) && !['averageSessionDuration', 'userEngagementDuration'].includes(m)) {
        expect(v, `${m} @ ${key}`).toBe(String(t[m]));
      } else {
        expect(Number(v), `${m} @ ${key}`).toBeCloseTo(t[m], 9);
      }
    }
  }
  expect(res.rowCount ?? 0).toBe(want.length);
}

const METRIC_SETS = [ALL_METRICS.slice(0, 10), ALL_METRICS.slice(10)];
const metricsBody = (ms: readonly string[]) => ms.map((name) => ({ name }));

/** The same questions and answers on every warehouse (BACKENDS below). */
function reportSuite(): void {
  describe('every metric against the ground truth', () => {
    it('overall, no dimensions', async () => {
      const expected = truth({ eventKey: () => '', sessionKey: () => '' });
      expect(expected.get('')!.sessions).toBeGreaterThan(50);
      for (const ms of METRIC_SETS) expectTruth(await report({ metrics: metricsBody(ms) }), expected, ms);
    });

    it('by date (sessions on their start date)', async () => {
      const expected = truth({ eventKey: (e) => ymd(e.local_date), sessionKey: (s) => ymd(s.local_date) });
      for (const ms of METRIC_SETS) expectTruth(await report({ dimensions: [{ name: 'date' }], metrics: metricsBody(ms) }), expected, ms);
    });

    it('by pagePath (sessions that had an event on the page)', async () => {
      const expected = truth({ eventKey: (e) => e.page_path ?? '(not set)' });
      for (const ms of METRIC_SETS) expectTruth(await report({ dimensions: [{ name: 'pagePath' }], metrics: metricsBody(ms) }), expected, ms);
    });

    it('by sessionSource', async () => {
      const expected = truth({ eventKey: (e) => e.session_source, sessionKey: (s) => s.source });
      for (const ms of METRIC_SETS) {
        expectTruth(await report({ dimensions: [{ name: 'sessionSource' }], metrics: metricsBody(ms) }), expected, ms);
      }
    });

    it('by country (English names) and countryId (codes)', async () => {
      const expected = truth({
        eventKey: (e) => `${countryName(e.country)}|${e.country ?? '(not set)'}`,
        sessionKey: (s) => `${countryName(s.country)}|${s.country ?? '(not set)'}`,
      });
      const res = await report({ dimensions: [{ name: 'country' }, { name: 'countryId' }], metrics: metricsBody(METRIC_SETS[0]) });
      expectTruth(res, expected, METRIC_SETS[0]);
      const keys = [...rowsByKey(res).keys()];
      expect(keys).toContain('United States|US');
      expect(keys).toContain('United Kingdom|GB');
      expect(keys).toContain('(not set)|(not set)');
    });

    it('newVsReturning, and newUsers over a range that starts after some first visits', async () => {
      const first = firstSessionKeys(fx, 't1', 'p1');
      const nvr = (key: string) => (first.has(key) ? 'new' : 'returning');
      const q = { start: '2024-03-03', end: '2024-03-04' };
      const expected = truth({ ...q, eventKey: (e) => nvr(e.session_key), sessionKey: (s) => nvr(s.session_key) });
      const ms = ['sessions', 'totalUsers', 'newUsers', 'activeUsers', 'eventCount'] as const;
      const res = await runReport(
        wh,
        settings,
        parseRunReportRequest(
          { dateRanges: [{ startDate: q.start, endDate: q.end }], dimensions: [{ name: 'newVsReturning' }], metrics: metricsBody(ms) },
          { timeZone: 'UTC' },
        ),
      );
      expectTruth(res, expected, ms);
      expect([...rowsByKey(res).keys()].sort()).toEqual(['new', 'returning']);
    });

    it('landingPage × deviceCategory × hour (a session dimension needing the sessions join)', async () => {
      const key = (e: EventRow, s: SessionRow) => `${s.landing_page}|${e.device_category}|${String(e.local_hour).padStart(2, '0')}`;
      const expected = truth({ eventKey: key, sessionKey: (s) => `${s.landing_page}|${s.device_category}|${String(s.local_hour).padStart(2, '0')}` });
      const ms = ['sessions', 'activeUsers', 'screenPageViews', 'engagementRate'] as const;
      expectTruth(
        await report({ dimensions: [{ name: 'landingPage' }, { name: 'deviceCategory' }, { name: 'hour' }], metrics: metricsBody(ms), limit: 100000 }),
        expected,
        ms,
      );
    });
  });

  describe('filters', () => {
    const ms = ['sessions', 'eventCount', 'totalUsers'] as const;
    const byPage = (pred: (path: string) => boolean) =>
      truth({ eventKey: (e) => e.page_path ?? '(not set)', eventFilter: (e) => pred(e.page_path ?? '(not set)') });
    const pageFilter = (stringFilter: Record<string, unknown>) => ({
      dimensions: [{ name: 'pagePath' }],
      metrics: metricsBody(ms),
      dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter } },
    });

    it.each([
      ['EXACT', { value: '/docs/api' }, (p: string) => p.toLowerCase() === '/docs/api'],
      ['EXACT case-sensitive', { value: '/docs/api', caseSensitive: true }, () => false],
      ['BEGINS_WITH', { matchType: 'BEGINS_WITH', value: '/DOCS' }, (p: string) => p.toLowerCase().startsWith('/docs')],
      ['BEGINS_WITH case-sensitive', { matchType: 2, value: '/docs', caseSensitive: true }, (p: string) => p.startsWith('/docs')],
      ['ENDS_WITH', { matchType: 'ENDS_WITH', value: 'START' }, (p: string) => p.toLowerCase().endsWith('start')],
      ['CONTAINS', { matchType: 'CONTAINS', value: 'o' }, (p: string) => p.toLowerCase().includes('o')],
      ['FULL_REGEXP', { matchType: 'FULL_REGEXP', value: '/(docs|blog)/.*' }, (p: string) => /^(?:\/(docs|blog)\/.*)$/i.test(p)],
      ['PARTIAL_REGEXP', { matchType: 'PARTIAL_REGEXP', value: '[0-9]{4}' }, (p: string) => /[0-9]{4}/.test(p)],
      ['PARTIAL_REGEXP case-sensitive', { matchType: 6, value: 'API', caseSensitive: true }, (p: string) => p.includes('API')],
    ])('stringFilter %s', async (_, sf, pred) => {
      expectTruth(await report(pageFilter(sf)), byPage(pred), ms);
    });

    it('inListFilter, case-insensitive by default', async () => {
      const res = await report({
        dimensions: [{ name: 'pagePath' }],
        metrics: metricsBody(ms),
        dimensionFilter: { filter: { fieldName: 'pagePath', inListFilter: { values: ['/', '/docs/api', '/nope'] } } },
      });
      expectTruth(
        res,
        byPage((p) => ['/', '/docs/api'].includes(p.toLowerCase())),
        ms,
      );
    });

    it('andGroup, orGroup and notExpression, on a field that is not a requested dimension', async () => {
      const res = await report({
        dimensions: [{ name: 'pagePath' }],
        metrics: metricsBody(ms),
        dimensionFilter: {
          andGroup: {
            expressions: [
              {
                orGroup: {
                  expressions: [
                    { filter: { fieldName: 'deviceCategory', stringFilter: { value: 'desktop' } } },
                    { filter: { fieldName: 'countryId', stringFilter: { value: 'JP' } } },
                  ],
                },
              },
              { notExpression: { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'BEGINS_WITH', value: '/docs' } } } },
            ],
          },
        },
      });
      const expected = truth({
        eventKey: (e) => e.page_path ?? '(not set)',
        eventFilter: (e) => (e.device_category === 'desktop' || e.country === 'JP') && !(e.page_path ?? '').toLowerCase().startsWith('/docs'),
      });
      expectTruth(res, expected, ms);
    });

    it('a session-scoped filter on a session-scoped report counts sessions from the sessions table', async () => {
      const res = await report({
        dimensions: [{ name: 'sessionMedium' }],
        metrics: metricsBody(ms),
        dimensionFilter: { notExpression: { filter: { fieldName: 'country', stringFilter: { value: 'united states' } } } },
      });
      const expected = truth({
        eventKey: (e) => e.session_medium,
        sessionKey: (s) => s.medium,
        eventFilter: (e) => e.country !== 'US',
        sessionFilter: (s) => s.country !== 'US',
      });
      expectTruth(res, expected, ms);
    });

    it('emptyFilter matches "(not set)"', async () => {
      const res = await report({
        dimensions: [{ name: 'pageTitle' }],
        metrics: [{ name: 'eventCount' }],
        dimensionFilter: { filter: { fieldName: 'pageTitle', emptyFilter: {} } },
      });
      const expected = truth({ eventKey: () => '(not set)', eventFilter: (e) => e.page_title === null });
      expectTruth(res, expected, ['eventCount']);
    });

    it('numericFilter and betweenFilter on a dimension (hour) and on metrics (HAVING)', async () => {
      const hour = (e: EventRow) => String(e.local_hour).padStart(2, '0');
      const res = await report({
        dimensions: [{ name: 'hour' }],
        metrics: [{ name: 'eventCount' }],
        dimensionFilter: { filter: { fieldName: 'hour', numericFilter: { operation: 'GREATER_THAN_OR_EQUAL', value: { int64Value: '12' } } } },
        metricFilter: { filter: { fieldName: 'eventCount', betweenFilter: { fromValue: { int64Value: '5' }, toValue: { doubleValue: 30 } } } },
      });
      const expected = truth({ eventKey: hour, eventFilter: (e) => e.local_hour >= 12 });
      const kept = new Map([...expected].filter(([, t]) => t.eventCount >= 5 && t.eventCount <= 30));
      expect(kept.size).toBeGreaterThan(0);
      expect(kept.size).toBeLessThan(expected.size);
      expectTruth(res, kept, ['eventCount']);

      const all = truth({ eventKey: (e) => e.page_path ?? '(not set)' });
      const median = [...all.values()].map((t) => t.sessions).sort((a, b) => a - b)[Math.floor(all.size / 2)];
      const bySessions = await report({
        dimensions: [{ name: 'pagePath' }],
        metrics: [{ name: 'eventCount' }],
        metricFilter: { filter: { fieldName: 'sessions', numericFilter: { operation: 4, value: { int64Value: String(median) } } } },
      });
      const keep = new Map([...all].filter(([, t]) => t.sessions > median));
      expect(keep.size).toBeGreaterThan(0);
      expect(keep.size).toBeLessThan(all.size);
      expectTruth(bySessions, keep, ['eventCount']);
      expect(bySessions.metricHeaders).toEqual([{ name: 'eventCount', type: 'TYPE_INTEGER' }]);
    });
  });

  describe('injection', () => {
    it('quotes, --, ; and DROP TABLE in values are matched literally', async () => {
      const evil = "/search'; DROP TABLE events; --";
      expect(PAGES).toContain(evil);
      const res = await report({
        dimensions: [{ name: 'pagePath' }],
        metrics: [{ name: 'eventCount' }],
        dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { value: evil, caseSensitive: true } } },
      });
      const expected = truth({ eventKey: (e) => e.page_path!, eventFilter: (e) => e.page_path === evil });
      expectTruth(res, expected, ['eventCount']);
      expect(res.rows).toHaveLength(1);

      const none = await report({
        metrics: [{ name: 'eventCount' }],
        dimensionFilter: {
          orGroup: {
            expressions: [
              { filter: { fieldName: 'pagePath', stringFilter: { value: "x' OR '1'='1" } } },
              { filter: { fieldName: 'sessionSource', inListFilter: { values: ["'); DELETE FROM sessions; --"] } } },
              { filter: { fieldName: 'pageTitle', stringFilter: { matchType: 'CONTAINS', value: "%' --" } } },
            ],
          },
        },
      });
      expect(none.rows).toBeUndefined();
      expect(await wh.query('SELECT count(*) AS n FROM events', [])).toEqual([{ n: fx.events.length }]);
    });

    it("a source with a quote (o'reilly.com) is reported and filterable", async () => {
      const res = await report({
        dimensions: [{ name: 'sessionSource' }],
        metrics: [{ name: 'sessions' }],
        dimensionFilter: { filter: { fieldName: 'sessionSource', stringFilter: { matchType: 'ENDS_WITH', value: "'reilly.com" } } },
      });
      const expected = truth({ eventKey: (e) => e.session_source, sessionKey: (s) => s.source, sessionFilter: (s) => s.source === "o'reilly.com" });
      expectTruth(res, expected, ['sessions']);
    });
  });

  describe('ordering, paging, aggregates, date ranges', () => {
    it('defaults to the first metric descending; orderBys by metric and by dimension order types', async () => {
      const byDesc = await report({ dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'eventCount' }, { name: 'sessions' }] });
      const counts = byDesc.rows!.map((r) => Number(r.metricValues[0].value));
      expect(counts).toEqual([...counts].sort((a, b) => b - a));

      const asc = await report({ dimensions: [{ name: 'pagePath' }], metrics: [{ name: 'sessions' }], orderBys: [{ metric: { metricName: 'sessions' } }] });
      const s = asc.rows!.map((r) => Number(r.metricValues[0].value));
      expect(s).toEqual([...s].sort((a, b) => a - b));

      const paths = async (orderType: unknown, desc = false) =>
        (
          await report({
            dimensions: [{ name: 'pagePath' }],
            metrics: [{ name: 'eventCount' }],
            orderBys: [{ dimension: { dimensionName: 'pagePath', orderType }, desc }],
          })
        ).rows!.map((r) => r.dimensionValues[0].value);
      const all = [...PAGES];
      const codePoint = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
      expect(await paths('ALPHANUMERIC')).toEqual([...all].sort(codePoint));
      expect(await paths(1, true)).toEqual([...all].sort(codePoint).reverse());
      const ci = await paths('CASE_INSENSITIVE_ALPHANUMERIC');
      expect(ci.map((p) => p.toLowerCase())).toEqual(all.map((p) => p.toLowerCase()).sort(codePoint));

      const hours = (
        await report({
          dimensions: [{ name: 'dayOfWeek' }],
          metrics: [{ name: 'eventCount' }],
          orderBys: [{ dimension: { dimensionName: 'dayOfWeek', orderType: 'NUMERIC' }, desc: true }],
        })
      ).rows!.map((r) => Number(r.dimensionValues[0].value));
      expect(hours).toEqual([...hours].sort((a, b) => b - a));
    });

    it('limit, offset and rowCount (the full cardinality)', async () => {
      const body = {
        dimensions: [{ name: 'pagePath' }, { name: 'date' }],
        metrics: [{ name: 'eventCount' }],
        orderBys: [{ dimension: { dimensionName: 'pagePath' } }, { dimension: { dimensionName: 'date' } }],
      };
      const full = await report(body);
      const expectedCount = truth({ eventKey: (e) => `${e.page_path}|${e.local_date}` }).size;
      expect(full.rowCount).toBe(expectedCount);
      const page = await report({ ...body, limit: '5', offset: '3' });
      expect(page.rowCount).toBe(expectedCount);
      expect(page.rows).toEqual(full.rows!.slice(3, 8));
      const past = await report({ ...body, offset: 10_000 });
      expect(past.rows).toBeUndefined();
      expect(past.rowCount).toBe(expectedCount);
    });

    it('totals, maximums and minimums, one per date range, with the dateRange column', async () => {
      const ranges = [
        { startDate: '2024-03-01', endDate: '2024-03-04' },
        { startDate: '2024-03-03', endDate: '2024-03-07', name: 'late' },
      ];
      const res = await runReport(
        wh,
        settings,
        parseRunReportRequest(
          {
            dateRanges: ranges,
            dimensions: [{ name: 'sessionSource' }],
            metrics: metricsBody(['sessions', 'totalUsers', 'engagementRate']),
            metricAggregations: ['TOTAL', 'MAXIMUM', 6 - 1],
          },
          { timeZone: 'UTC' },
        ),
      );
      expect(res.dimensionHeaders).toEqual([{ name: 'sessionSource' }, { name: 'dateRange' }]);
      const names = ['date_range_0', 'late'];
      const ms = ['sessions', 'totalUsers', 'engagementRate'] as const;
      const perRange = ranges.map((r) => truth({ start: r.startDate, end: r.endDate, eventKey: (e) => e.session_source, sessionKey: (s) => s.source }));
      // rows: both ranges, overlapping days counted in each
      const expectedRows = new Map<string, Truth>();
      perRange.forEach((t, i) => t.forEach((v, k) => expectedRows.set(`${k}|${names[i]}`, v)));
      expectTruth(res, expectedRows, ms);

      const totals = ranges.map((r) => truth({ start: r.startDate, end: r.endDate, eventKey: () => '', sessionKey: () => '' }).get('')!);
      expect(res.totals!.map((r) => r.dimensionValues.map((v) => v.value))).toEqual([
        ['RESERVED_TOTAL', 'date_range_0'],
        ['RESERVED_TOTAL', 'late'],
      ]);
      res.totals!.forEach((row, i) => {
        expect(row.metricValues[0].value).toBe(String(totals[i].sessions));
        // distinct users over the range, not the sum of the rows
        expect(row.metricValues[1].value).toBe(String(totals[i].totalUsers));
        expect(Number(row.metricValues[2].value)).toBeCloseTo(totals[i].engagementRate, 9);
      });
      for (const [field, label, fn] of [
        ['maximums', 'RESERVED_MAX', Math.max],
        ['minimums', 'RESERVED_MIN', Math.min],
      ] as const) {
        const rows = res[field]!;
        expect(rows.map((r) => r.dimensionValues.map((v) => v.value))).toEqual([
          [label, 'date_range_0'],
          [label, 'late'],
        ]);
        rows.forEach((row, i) => {
          const vals = [...perRange[i].values()];
          expect(row.metricValues[0].value).toBe(String(fn(...vals.map((v) => v.sessions))));
          expect(Number(row.metricValues[2].value)).toBeCloseTo(fn(...vals.map((v) => v.engagementRate)), 9);
        });
      }
      expect(res.metadata).toEqual({ currencyCode: 'EUR', timeZone: 'UTC' });
      expect(res.kind).toBe('analyticsData#runReport');
    });

    it('one date range adds no dateRange column; empty results have no rows', async () => {
      const res = await report({ dimensions: [{ name: 'date' }], metrics: [{ name: 'sessions' }], metricAggregations: ['TOTAL'], currencyCode: 'JPY' });
      expect(res.dimensionHeaders).toEqual([{ name: 'date' }]);
      expect(res.totals![0].dimensionValues).toEqual([{ value: 'RESERVED_TOTAL' }]);
      expect(res.metadata.currencyCode).toBe('JPY');
      const empty = await runReport(
        wh,
        settings,
        parseRunReportRequest(
          { dateRanges: [{ startDate: '2020-01-01', endDate: '2020-01-02' }], dimensions: [{ name: 'date' }], metrics: [{ name: 'sessions' }] },
          { timeZone: 'UTC' },
        ),
      );
      expect(empty).toEqual({
        dimensionHeaders: [{ name: 'date' }],
        metricHeaders: [{ name: 'sessions', type: 'TYPE_INTEGER' }],
        metadata: { currencyCode: 'EUR', timeZone: 'UTC' },
        kind: 'analyticsData#runReport',
      });
    });

    it('keepEmptyRows keeps rows whose metrics are all zero', async () => {
      const body = { dimensions: [{ name: 'eventName' }], metrics: [{ name: 'keyEvents' }] };
      const dropped = rowsByKey(await report(body));
      const kept = rowsByKey(await report({ ...body, keepEmptyRows: true }));
      expect([...dropped.keys()]).toEqual(['purchase']);
      expect([...kept.keys()].sort()).toEqual(['first_visit', 'page_view', 'purchase', 'scroll', 'session_start', 'user_engagement']);
      expect(kept.get('page_view')!.keyEvents).toBe('0');
    });

    it('dimension expressions, metric expressions and invisible metrics', async () => {
      const res = await report({
        dimensions: [
          { name: 'lowerPath', dimensionExpression: { lowerCase: { dimensionName: 'pagePath' } } },
          { name: 'srcDevice', dimensionExpression: { concatenate: { dimensionNames: ['sessionSource', 'deviceCategory'], delimiter: "'|" } } },
        ],
        metrics: [
          { name: 'viewsPerEvent', expression: 'screenPageViews / eventCount' },
          { name: 'eventCount', invisible: true },
        ],
        orderBys: [{ metric: { metricName: 'eventCount' }, desc: true }],
        limit: 100000,
      });
      expect(res.metricHeaders).toEqual([{ name: 'viewsPerEvent', type: 'TYPE_FLOAT' }]);
      const expected = truth({ eventKey: (e) => `${(e.page_path ?? '').toLowerCase()}|${e.session_source}'|${e.device_category}` });
      const got = rowsByKey(res);
      expect(got.size).toBe([...expected.values()].filter((t) => t.eventCount > 0).length);
      for (const [k, t] of expected) expect(Number(got.get(k)!.viewsPerEvent)).toBeCloseTo(t.screenPageViews / t.eventCount, 9);
    });
  });
}

describe('metadata.tallyCompleteUpTo', () => {
  it('carries the completeness instant as RFC 3339, and is absent when unknown', async () => {
    const w = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
    await w.init();
    const req = parseRunReportRequest({ dateRanges: [{ startDate: START, endDate: END }], metrics: [{ name: 'sessions' }] }, { timeZone: 'UTC' });
    const at = new Date(Date.UTC(2024, 2, 8, 9, 30, 15, 250));
    expect((await runReport(w, settings, req, { completeUpTo: at })).metadata).toEqual({
      currencyCode: 'EUR',
      timeZone: 'UTC',
      tallyCompleteUpTo: '2024-03-08T09:30:15.250Z',
    });
    expect((await runReport(w, settings, req, { completeUpTo: null })).metadata).toEqual({ currencyCode: 'EUR', timeZone: 'UTC' });
    await w.close();
  });
});
