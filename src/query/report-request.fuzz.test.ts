import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../test/support/listen.js';
import type { PropertySettings } from '../domain/property-settings.js';
import { isTallyError } from '../infra/errors.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { generateProperty, loadPartitions, writeParquetPartitions } from './report-fixture.testkit.js';
import { checkRegexSyntax } from './report-filter.js';
import { parseRunReportRequest } from './report-request.js';
import { createReportRouter } from './report.router.js';

/**
 * Issue 9 §5: the report request parser, fed anything, refuses with a TallyError or answers; and
 * the whole runReport route (parser, RE2 check, compiler, DuckDB) never answers 5xx. Bounded runs.
 */
const settings: PropertySettings = {
  tenantId: 't1',
  propertyId: '1',
  timeZone: 'Pacific/Chatham',
  currencyCode: 'USD',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};
const ctx = { timeZone: settings.timeZone, now: new Date('2024-03-08T12:00:00Z') };

const DIMS = ['date', 'pagePath', 'city', 'country', 'eventName', 'hour', 'dayOfWeek', 'newVsReturning', 'sessionSource', 'nope'];
const METRICS = ['sessions', 'totalUsers', 'eventCount', 'bounceRate', 'newUsers', 'keyEvents', 'averageSessionDuration', 'nope'];
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom('', '(', '(?=a)x', '(?<!a)b', 'a{1001}', '(?i)^/d', '.*', '\\', '\u0000', '\ud800', "'; DROP TABLE events; --"),
);
const anyValue = fc.oneof(text, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.jsonValue({ maxDepth: 2 }));
const dateText = fc.oneof(
  fc.constantFrom(
    'today',
    'yesterday',
    '7daysAgo',
    '800000daysAgo',
    `${'9'.repeat(30)}daysAgo`,
    '2024-03-01',
    '2024-02-30',
    '0000-01-01',
    '9999-12-31',
    '1969-12-31',
  ),
  fc.string({ maxLength: 12 }),
);
const leaf = fc.record(
  {
    fieldName: fc.oneof(fc.constantFrom(...DIMS, ...METRICS), text),
    stringFilter: fc.record(
      {
        matchType: fc.oneof(fc.integer({ min: -1, max: 8 }), fc.constantFrom('EXACT', 'FULL_REGEXP', 'PARTIAL_REGEXP', 'CONTAINS', 'BOGUS')),
        value: anyValue,
        caseSensitive: anyValue,
      },
      { requiredKeys: [] },
    ),
    inListFilter: fc.record({ values: fc.oneof(fc.array(text, { maxLength: 4 }), anyValue) }, { requiredKeys: [] }),
    numericFilter: fc.record(
      { operation: fc.oneof(fc.integer({ min: -1, max: 6 }), text), value: fc.record({ int64Value: anyValue, doubleValue: anyValue }, { requiredKeys: [] }) },
      { requiredKeys: [] },
    ),
    betweenFilter: fc.record({ fromValue: fc.record({ doubleValue: anyValue }), toValue: fc.record({ int64Value: anyValue }) }, { requiredKeys: [] }),
    emptyFilter: fc.oneof(fc.constant({}), anyValue),
  },
  { requiredKeys: ['fieldName'] },
);
const { filterExpr } = fc.letrec((tie) => ({
  filterExpr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.record({ filter: leaf }),
    fc.record({ andGroup: fc.record({ expressions: fc.array(tie('filterExpr'), { maxLength: 3 }) }) }),
    fc.record({ orGroup: fc.record({ expressions: fc.array(tie('filterExpr'), { maxLength: 3 }) }) }),
    fc.record({ notExpression: tie('filterExpr') }),
  ),
}));
const request = fc.record(
  {
    dateRanges: fc.oneof(fc.array(fc.record({ startDate: dateText, endDate: dateText, name: fc.option(text) }), { maxLength: 5 }), anyValue),
    dimensions: fc.array(
      fc.oneof(
        fc.record({ name: fc.constantFrom(...DIMS) }),
        fc.record({ name: text, dimensionExpression: fc.record({ lowerCase: fc.record({ dimensionName: fc.constantFrom(...DIMS) }) }) }),
      ),
      { maxLength: 4 },
    ),
    metrics: fc.array(
      fc.oneof(
        fc.record({ name: fc.constantFrom(...METRICS) }),
        fc.record({
          name: text,
          expression: fc.oneof(text, fc.constantFrom('sessions/totalUsers', '(eventCount - sessions) * 2', '-(-sessions)', 'sessions/0', '((', '1/0')),
        }),
      ),
      { maxLength: 4 },
    ),
    dimensionFilter: filterExpr,
    metricFilter: filterExpr,
    limit: anyValue,
    offset: anyValue,
    metricAggregations: fc.array(fc.oneof(fc.constantFrom('TOTAL', 'MAXIMUM', 'MINIMUM', 'COUNT', 1, 5, 6, 7), anyValue), { maxLength: 3 }),
    orderBys: fc.array(
      fc.record(
        {
          desc: anyValue,
          metric: fc.record({ metricName: fc.constantFrom(...METRICS) }),
          dimension: fc.record({ dimensionName: fc.constantFrom(...DIMS), orderType: fc.oneof(fc.integer({ min: 0, max: 4 }), text) }),
        },
        { requiredKeys: [] },
      ),
      { maxLength: 2 },
    ),
    keepEmptyRows: anyValue,
    currencyCode: anyValue,
    bogus: anyValue,
  },
  { requiredKeys: ['dateRanges'] },
);
// as the router receives it: through JSON text
const body = fc.oneof(request, fc.jsonValue({ maxDepth: 5 })).map((v) => JSON.parse(JSON.stringify(v) ?? 'null') as unknown);

describe('report request parser under fuzzing', () => {
  it('refuses with a TallyError or returns a request; never throws anything else', () => {
    fc.assert(
      fc.property(body, (b) => {
        try {
          parseRunReportRequest(b, ctx);
        } catch (err) {
          if (!isTallyError(err)) throw err;
          expect(err.code).toBe('invalid_argument');
        }
      }),
      { numRuns: 1_000 },
    );
  });

  it('RE2 syntax check: a verdict for any pattern, never a crash', async () => {
    const syntax = new DuckDbRe2Syntax();
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[()[\]{}?*+|\\^$.a-z0-9,:<=!-]{0,12}$/)), async (pattern) => {
          await checkRegexSyntax(
            {
              dimensionFilter: {
                kind: 'filter',
                filter: { fieldName: 'pagePath', kind: 'string', matchType: 'FULL_REGEXP', value: pattern, caseSensitive: false },
              },
            },
            syntax,
          ).catch((err: unknown) => {
            if (!isTallyError(err)) throw err;
          });
        }),
        { numRuns: 300 },
      );
    } finally {
      await syntax.close();
    }
  });
});

describe('runReport over HTTP under fuzzing (DuckDB)', () => {
  let dir: string;
  let wh: DuckDbWarehouse;
  let regex: DuckDbRe2Syntax;
  let server: Server;
  let url: string;
  const errors: unknown[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tally-report-fuzz-'));
    wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
    await wh.init();
    await loadPartitions(wh, await writeParquetPartitions(generateProperty('t1', '1', 3, 6), dir));
    regex = new DuckDbRe2Syntax();
    const app = express();
    app.use(createReportRouter({ warehouse: wh, authorize: async () => settings, regexSyntax: regex, logError: (e) => errors.push(e), now: () => ctx.now }));
    const listening = await listenOnLoopback(app);
    server = listening.server;
    url = `${listening.base}/v1beta/properties/1:runReport`;
  });

  afterAll(async () => {
    await new Promise((r) => server?.close(r));
    await wh?.close();
    await regex?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('never answers 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await fetch(url, { method: 'POST', headers: { authorization: 'Bearer k' }, body: JSON.stringify(b) });
        const text = await res.text();
        if (res.status >= 500) throw new Error(`${res.status} ${text} for ${JSON.stringify(b)}: ${String(errors.at(-1))}`);
        expect(res.headers.get('content-type')).toContain('application/json');
      }),
      { numRuns: 150 },
    );
    expect(errors).toEqual([]);
  }, 60_000);
});
