import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { PAGES, type Truth } from './report-fixture.testkit.js';
import { parseRunReportRequest } from './report-request.js';
import { runReport } from './report.service.js';
import { settings, START, END, dir, wh, report, truth, rowsByKey, expectTruth, metricsBody, onEveryWarehouse } from './report.service.testkit.js';

/** Ordering, paging, aggregates, date ranges and metadata of reports, on every warehouse. */
onEveryWarehouse(() => {
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
});

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
