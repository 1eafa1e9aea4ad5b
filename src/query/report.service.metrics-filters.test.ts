import { describe, expect, it } from 'vitest';
import { firstSessionKeys, PAGES, type EventRow, type SessionRow } from './report-fixture.testkit.js';
import { parseRunReportRequest } from './report-request.js';
import { runReport } from './report.service.js';
import {
  settings,
  rowsByKey,
  wh,
  fx,
  report,
  ymd,
  countryName,
  truth,
  expectTruth,
  METRIC_SETS,
  metricsBody,
  onEveryWarehouse,
} from './report.service.testkit.js';

/** Every metric, filtered or not, equals the ground truth on every warehouse; values are never SQL. */
onEveryWarehouse(() => {
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
});
