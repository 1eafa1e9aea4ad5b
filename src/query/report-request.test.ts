import { afterAll, describe, expect, it } from 'vitest';
import { TallyError } from '../infra/errors.js';
import { resolveDateRange } from './date-ranges.js';
import { encodeEnum, enumName, METRIC_AGGREGATION, METRIC_TYPE } from './ga4-enums.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';
import { checkRegexSyntax } from './report-filter.js';
import { parseRunReportRequest } from './report-request.js';

const ctx = { timeZone: 'America/Los_Angeles', now: new Date('2024-03-10T05:00:00Z') }; // 2024-03-09 21:00 in LA
/** `depth` levels of `wrap` around one leaf filter. */
function nested(depth: number, wrap: (inner: unknown) => unknown): unknown {
  let e: unknown = { filter: { fieldName: 'city', stringFilter: { value: 'x' } } };
  for (let i = 0; i < depth; i++) e = wrap(e);
  return e;
}

const base = { dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }], metrics: [{ name: 'sessions' }] };

function errorOf(body: unknown): TallyError {
  try {
    parseRunReportRequest(body, ctx);
  } catch (e) {
    if (e instanceof TallyError) return e;
    throw e;
  }
  throw new Error('expected the request to be refused');
}

describe('parseRunReportRequest', () => {
  it('accepts GA4 JSON: camelCase or snake_case, int64 as strings, enums as names or numbers', () => {
    const r = parseRunReportRequest(
      {
        property: 'properties/1',
        dimensions: [{ name: 'pagePath' }],
        metrics: [{ name: 'conversions' }, { name: 'eventCount', invisible: true }],
        date_ranges: [
          { start_date: '7daysAgo', end_date: 'yesterday', name: 'week' },
          { startDate: 'today', endDate: 'today' },
        ],
        limit: '25',
        offset: 5,
        metricAggregations: [1, 'MAXIMUM', 5],
        dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { matchType: 5, value: '/a.*' } } },
        metricFilter: { filter: { field_name: 'sessions', numeric_filter: { operation: 'GREATER_THAN', value: { int64Value: '9007199254740991' } } } },
        orderBys: [{ dimension: { dimensionName: 'pagePath', orderType: 3 }, desc: true }],
        keepEmptyRows: true,
      },
      ctx,
    );
    expect(r.dateRanges).toEqual([
      { startDate: '2024-03-02', endDate: '2024-03-08', name: 'week' },
      { startDate: '2024-03-09', endDate: '2024-03-09', name: 'date_range_1' },
    ]);
    expect(r.limit).toBe(25);
    expect(r.offset).toBe(5);
    expect(r.metricAggregations).toEqual(['TOTAL', 'MAXIMUM', 'MINIMUM']);
    expect(r.metrics.map((m) => [m.name, m.def?.apiName, m.invisible])).toEqual([
      ['conversions', 'keyEvents', false],
      ['eventCount', 'eventCount', true],
    ]);
    expect(r.dimensionFilter).toEqual({
      kind: 'filter',
      filter: { fieldName: 'pagePath', kind: 'string', matchType: 'FULL_REGEXP', value: '/a.*', caseSensitive: false },
    });
    expect(r.metricFilter).toMatchObject({ filter: { kind: 'numeric', operation: 'GREATER_THAN', value: 9007199254740991 } });
    expect(r.orderBys).toEqual([{ kind: 'dimension', dimensionName: 'pagePath', orderType: 'NUMERIC', desc: true }]);
    expect(r.keepEmptyRows).toBe(true);
  });

  it('defaults: limit 10000, capped at 250000, offset 0', () => {
    expect(parseRunReportRequest(base, ctx)).toMatchObject({ limit: 10000, offset: 0, metricAggregations: [], keepEmptyRows: false });
    expect(parseRunReportRequest({ ...base, limit: '999999' }, ctx).limit).toBe(250000);
  });

  const SCHEMA = 'For a list of valid dimensions and metrics, see https://developers.google.com/analytics/devguides/reporting/data/v1/api-schema ';
  it.each([
    ['unknown top-level field', { ...base, foo: 1 }, 'Unknown name "foo"'],
    ['unknown nested field', { ...base, dimensions: [{ name: 'date', bar: 2 }] }, `Unknown name "bar" at 'dimensions[0]'`],
    ['unknown dimension', { ...base, dimensions: [{ name: 'nope' }] }, `Field nope is not a valid dimension. ${SCHEMA}`],
    ['unknown metric', { ...base, metrics: [{ name: 'visits' }] }, `Field visits is not a valid metric. ${SCHEMA}`],
    ['unknown metric in an expression', { ...base, metrics: [{ name: 'x', expression: 'sessions/visits' }] }, 'Field visits is not a valid metric'],
    ['bad metric expression', { ...base, metrics: [{ name: 'x', expression: 'sessions +' }] }, 'Invalid metric expression "sessions +"'],
    ['duplicate metric', { ...base, metrics: [{ name: 'sessions' }, { name: 'sessions' }] }, 'Duplicate metric name sessions'],
    ['bad aggregation enum name', { ...base, metricAggregations: ['AVERAGE'] }, "Invalid value at 'metric_aggregations[0]'"],
    ['bad aggregation enum number', { ...base, metricAggregations: [3] }, "Invalid value at 'metric_aggregations[0]'"],
    [
      'bad match type',
      { ...base, dimensionFilter: { filter: { fieldName: 'date', stringFilter: { matchType: 'LIKE', value: 'x' } } } },
      "Invalid value at 'dimension_filter.filter.string_filter.match_type'",
    ],
    [
      'bad numeric operation',
      { ...base, metricFilter: { filter: { fieldName: 'sessions', numericFilter: { operation: 9, value: { int64Value: '1' } } } } },
      "Invalid value at 'metric_filter.filter.numeric_filter.operation'",
    ],
    [
      'bad order type',
      { ...base, dimensions: [{ name: 'date' }], orderBys: [{ dimension: { dimensionName: 'date', orderType: 'RANDOM' } }] },
      "Invalid value at 'order_bys[0].dimension.order_type'",
    ],
    ['no date range', { metrics: [{ name: 'sessions' }] }, 'Must specify at least one date range'],
    ['five date ranges', { ...base, dateRanges: Array(5).fill({ startDate: 'today', endDate: 'today' }) }, 'limited to 4 dateRanges'],
    ['bad date', { ...base, dateRanges: [{ startDate: '2024-02-30', endDate: 'today' }] }, 'Invalid startDate "2024-02-30"'],
    ['bad relative date', { ...base, dateRanges: [{ startDate: 'lastWeek', endDate: 'today' }] }, 'Invalid startDate "lastWeek"'],
    ['start after end', { ...base, dateRanges: [{ startDate: '2024-03-05', endDate: '2024-03-01' }] }, 'startDate 2024-03-05 is after endDate 2024-03-01'],
    ['reserved range name', { ...base, dateRanges: [{ startDate: 'today', endDate: 'today', name: 'RESERVED_x' }] }, 'must not start with'],
    ['negative limit', { ...base, limit: '-1' }, 'limit must be positive'],
    ['non-integer limit', { ...base, limit: 'ten' }, "Invalid value at 'limit' (TYPE_INT64)"],
    ['negative offset', { ...base, offset: -3 }, 'offset must be non-negative'],
    [
      'metric in dimensionFilter',
      { ...base, dimensionFilter: { filter: { fieldName: 'sessions', stringFilter: { value: '1' } } } },
      'Field sessions is a metric',
    ],
    [
      'dimension in metricFilter',
      { ...base, metricFilter: { filter: { fieldName: 'date', numericFilter: { operation: 1, value: { int64Value: '1' } } } } },
      'Field date is a dimension',
    ],
    [
      'string filter on a metric',
      { ...base, metricFilter: { filter: { fieldName: 'sessions', stringFilter: { value: '1' } } } },
      'must be a numericFilter or betweenFilter',
    ],
    [
      'two filters in one',
      { ...base, dimensionFilter: { filter: { fieldName: 'date', stringFilter: { value: '1' }, emptyFilter: {} } } },
      'exactly one of stringFilter',
    ],
    ['empty inList', { ...base, dimensionFilter: { filter: { fieldName: 'date', inListFilter: { values: [] } } } }, 'values must not be empty'],
    ['800000daysAgo (before year 1)', { ...base, dateRanges: [{ startDate: '800000daysAgo', endDate: 'today' }] }, 'Invalid startDate "800000daysAgo"'],
    ['a date before 1970', { ...base, dateRanges: [{ startDate: '1969-12-31', endDate: 'today' }] }, 'from 1970-01-01 to 9999-12-31'],
    ['a day count past any date', { ...base, dateRanges: [{ startDate: `${'9'.repeat(400)}daysAgo`, endDate: 'today' }] }, 'Invalid startDate'],
    ['notExpression nested 1,000 deep', { ...base, dimensionFilter: nested(1000, (inner) => ({ notExpression: inner })) }, 'limited to 16 levels of nesting'],
    [
      'andGroup nested 17 deep',
      { ...base, dimensionFilter: nested(17, (inner) => ({ andGroup: { expressions: [inner] } })) },
      'limited to 16 levels of nesting',
    ],
    [
      'a 3,000-term metric expression',
      { ...base, metrics: [{ name: 'm', expression: Array.from({ length: 1500 }, () => 'sessions').join('+') }] },
      'Metric expressions are limited to 100 terms',
    ],
    [
      '101 filter terms',
      {
        ...base,
        dimensionFilter: {
          orGroup: { expressions: Array.from({ length: 101 }, (_, i) => ({ filter: { fieldName: 'city', stringFilter: { value: `c${i}` } } })) },
        },
      },
      'Filters are limited to 100 terms',
    ],
    [
      'inLists of 1,001 values',
      {
        ...base,
        dimensionFilter: {
          orGroup: {
            expressions: [600, 401].map((n) => ({ filter: { fieldName: 'city', inListFilter: { values: Array.from({ length: n }, (_, i) => `c${i}`) } } })),
          },
        },
      },
      'limited to 1000 values',
    ],
    [
      '21 regex filters',
      {
        ...base,
        dimensionFilter: {
          andGroup: {
            expressions: Array.from({ length: 21 }, () => ({ filter: { fieldName: 'city', stringFilter: { matchType: 'FULL_REGEXP', value: 'a.*' } } })),
          },
        },
      },
      'limited to 20 regular expression filters',
    ],
    [
      'a 2,001-character filter value',
      { ...base, dimensionFilter: { filter: { fieldName: 'city', stringFilter: { value: 'x'.repeat(2001) } } } },
      'longer than 2000 characters',
    ],
    ['order by a dimension not requested', { ...base, orderBys: [{ dimension: { dimensionName: 'date' } }] }, 'Field date in orderBys'],
    ['order by an unknown metric', { ...base, orderBys: [{ metric: { metricName: 'nope' } }] }, 'Field nope is not a valid metric'],
    ['bad currency', { ...base, currencyCode: 'dollars' }, 'currencyCode must be an ISO 4217 code'],
    [
      'too many dimensions',
      {
        ...base,
        dimensions: Array.from({ length: 10 }, (_, i) => ({
          name: ['date', 'hour', 'year', 'month', 'day', 'pagePath', 'city', 'region', 'browser', 'country'][i],
        })),
      },
      'limited to 9 dimensions',
    ],
    ['cohortSpec (runReport answers it through cohort-report.ts)', { ...base, cohortSpec: { cohorts: [] } }, 'cohortSpec is answered by runReport only'],
    ['body not an object', [1, 2], 'Expected an object'],
    ['boolean as string', { ...base, keepEmptyRows: 'yes' }, "Invalid value at 'keepEmptyRows' (TYPE_BOOL)"],
  ])('refuses %s with INVALID_ARGUMENT naming the field', (_, body, message) => {
    const e = errorOf(body);
    expect(e.code).toBe('invalid_argument');
    expect(e.message).toContain(message);
  });
});

describe('regular expressions are checked with RE2 syntax', () => {
  const syntax = new DuckDbRe2Syntax();
  afterAll(() => syntax.close());
  const withRegex = (value: string, matchType = 'FULL_REGEXP') =>
    parseRunReportRequest({ ...base, dimensionFilter: { notExpression: { filter: { fieldName: 'pagePath', stringFilter: { matchType, value } } } } }, ctx);

  it.each(['(?=a)x', '(?<!a)b', 'a{1001}', '('])('refuses %s, which RE2 does not compile (JavaScript takes most of them)', async (pattern) => {
    const err = await checkRegexSyntax(withRegex(pattern, 'PARTIAL_REGEXP'), syntax).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TallyError);
    expect((err as TallyError).code).toBe('invalid_argument');
    expect((err as TallyError).message).toContain(`Invalid regular expression "${pattern}" for pagePath (RE2 syntax)`);
  });

  it.each(['(?i)^/docs', 'a{1000}', '\\pL+', '[[:alpha:]]+', '/blog/\\d{4}'])('accepts %s (RE2 takes it; JavaScript refuses some)', async (pattern) => {
    await expect(checkRegexSyntax(withRegex(pattern), syntax)).resolves.toBeUndefined();
  });
});

describe('enums and dates', () => {
  it('uses proto numbers, with their gaps', () => {
    expect(enumName(METRIC_AGGREGATION, 6)).toBe('MAXIMUM');
    expect(enumName(METRIC_AGGREGATION, '5')).toBe('MINIMUM');
    expect(enumName(METRIC_AGGREGATION, 2)).toBeUndefined();
    expect(encodeEnum(METRIC_TYPE, 'TYPE_SECONDS', true)).toBe(4);
    expect(encodeEnum(METRIC_TYPE, 'TYPE_SECONDS', false)).toBe('TYPE_SECONDS');
  });

  it('resolves relative dates in the property time zone', () => {
    const now = new Date('2024-03-10T05:00:00Z');
    expect(resolveDateRange('today', { timeZone: 'UTC', now })).toBe('2024-03-10');
    expect(resolveDateRange('today', { timeZone: 'America/Los_Angeles', now })).toBe('2024-03-09');
    expect(resolveDateRange('yesterday', { timeZone: 'Asia/Tokyo', now })).toBe('2024-03-09');
    expect(resolveDateRange('30daysAgo', { timeZone: 'UTC', now })).toBe('2024-02-09');
    expect(resolveDateRange('2024-13-01', { timeZone: 'UTC', now })).toBeNull();
  });
});
