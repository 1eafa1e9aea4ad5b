import { describe, expect, it } from 'vitest';
import { parseRunReportRequest, REQUEST_KEYS } from './report-request.js';
import { RunReportRequestSchema } from './report.api.js';

const ctx = { timeZone: 'UTC', now: new Date('2026-12-05T12:00:00Z') };

/** Requests the parser accepts, covering every kind of field. */
const VALID: unknown[] = [
  { dateRanges: [{ startDate: '7daysAgo', endDate: 'today' }], metrics: [{ name: 'activeUsers' }] },
  {
    property: 'properties/1',
    dimensions: [
      { name: 'country' },
      { name: 'lc', dimensionExpression: { lowerCase: { dimensionName: 'pagePath' } } },
      { name: 'cc', dimensionExpression: { concatenate: { dimensionNames: ['country', 'city'], delimiter: '/' } } },
    ],
    metrics: [{ name: 'sessions' }, { name: 'ratio', expression: 'eventCount/sessions' }, { name: 'eventCount', invisible: true }],
    dateRanges: [
      { startDate: '2026-11-01', endDate: '2026-11-30', name: 'nov' },
      { startDate: 'yesterday', endDate: 'today' },
    ],
    dimensionFilter: {
      andGroup: {
        expressions: [
          { filter: { fieldName: 'country', stringFilter: { matchType: 'BEGINS_WITH', value: 'Ger', caseSensitive: false } } },
          { notExpression: { filter: { fieldName: 'city', inListFilter: { values: ['Berlin'] } } } },
          {
            orGroup: {
              expressions: [
                { filter: { fieldName: 'pagePath', emptyFilter: {} } },
                { filter: { fieldName: 'pagePath', stringFilter: { matchType: 4, value: 'x' } } },
              ],
            },
          },
        ],
      },
    },
    metricFilter: { filter: { fieldName: 'sessions', numericFilter: { operation: 'GREATER_THAN', value: { int64Value: '1' } } } },
    offset: '0',
    limit: 100,
    metricAggregations: ['TOTAL', 'MAXIMUM'],
    orderBys: [{ desc: true, metric: { metricName: 'sessions' } }, { dimension: { dimensionName: 'country', orderType: 'ALPHANUMERIC' } }],
    currencyCode: 'EUR',
    keepEmptyRows: true,
    returnPropertyQuota: true,
    comparisons: [],
  },
  {
    dateRanges: [{ startDate: 'today', endDate: 'today' }],
    metrics: [{ name: 'sessions' }],
    metricFilter: { filter: { fieldName: 'sessions', betweenFilter: { fromValue: { doubleValue: 1.5 }, toValue: { int64Value: 9 } } } },
  },
];

describe('RunReportRequest schema in /openapi.json', () => {
  it('has exactly the fields the parser reads', () => {
    expect(Object.keys(RunReportRequestSchema.shape).sort()).toEqual([...REQUEST_KEYS].sort());
  });

  it('accepts every request the parser accepts', () => {
    for (const r of VALID) {
      expect(() => parseRunReportRequest(r, ctx)).not.toThrow();
      const parsed = RunReportRequestSchema.safeParse(r);
      expect(parsed.success, JSON.stringify(parsed.error?.issues)).toBe(true);
    }
  });

  it('refuses unknown fields, as the parser does', () => {
    const r = { dateRanges: [{ startDate: 'today', endDate: 'today' }], metrics: [{ name: 'sessions', alias: 'x' }] };
    expect(() => parseRunReportRequest(r, ctx)).toThrow();
    expect(RunReportRequestSchema.safeParse(r).success).toBe(false);
  });
});
