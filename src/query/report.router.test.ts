import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listenOnLoopback } from '../../test/support/listen.js';
import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { DIMENSIONS, METRICS } from './catalog.js';
import { generateProperty, groundTruth, loadPartitions, writeParquetPartitions, type Fixture } from './report-fixture.testkit.js';
import { createReportRouter } from './report.router.js';
import { createApiFallbackRouter } from './api-fallback.router.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';

const settings: PropertySettings & { planId: string } = {
  planId: 'growth',
  tenantId: 't1',
  propertyId: '123',
  timeZone: 'UTC',
  currencyCode: 'USD',
  sessionTimeoutMinutes: 30,
  engagedSessionSeconds: 10,
  keyEvents: ['purchase'],
};

let dir: string;
let wh: DuckDbWarehouse;
let server: Server;
let base: string;
let fx: Fixture;
const logged: unknown[] = [];

/** Read keys: 'k-read' may read property 123; 'k-other' belongs to another tenant. */
async function authorize(token: string | null, propertyId: string): Promise<PropertySettings> {
  if (token === 'k-boom') throw new Error('connection string postgres://admin:hunter2@db leaked');
  if (token === 'k-throttled') throw new TallyError('quota_exceeded', 'Exhausted property tokens per hour.', { retryAfterMs: 1500 });
  if (token === 'k-down') throw new TallyError('unavailable', 'The service is currently unavailable.');
  if (token === null || !token.startsWith('k-')) throw new TallyError('unauthenticated', 'Request is missing required authentication credential.');
  if (propertyId !== '123') throw new TallyError('not_found', `Property properties/${propertyId} not found.`);
  if (token !== 'k-read') throw new TallyError('permission_denied', 'User does not have sufficient permissions for this property.');
  return settings;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-router-'));
  fx = generateProperty('t1', '123', 11, 20);
  wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await wh.init();
  await loadPartitions(wh, await writeParquetPartitions(fx, dir));
  const app = express();
  app.use(createReportRouter({ warehouse: wh, authorize, logError: (e) => logged.push(e), now: () => new Date('2024-03-08T12:00:00Z') }));
  // a later router for a method this one does not own must still get the request body
  app.post('/v1beta/properties/:rest', express.json({ type: () => true }), (req, res) => {
    res.status(418).json({ echoed: req.body });
  });
  ({ server, base } = await listenOnLoopback(app));
});

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function post(path: string, body: unknown, opts: { token?: string | null; contentType?: string; raw?: string } = {}) {
  const headers: Record<string, string> = { 'content-type': opts.contentType ?? 'application/json' };
  const token = opts.token === undefined ? 'k-read' : opts.token;
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch(base + path, { method: 'POST', headers, body: opts.raw ?? JSON.stringify(body) });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
}

const week = { dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }] };

describe('POST /v1beta/properties/{id}:runReport', () => {
  it('answers in GA4 JSON, int64 values as strings, whatever the content-type', async () => {
    const { status, json, text } = await post(
      '/v1beta/properties/123:runReport',
      { ...week, dimensions: [{ name: 'date' }], metrics: [{ name: 'sessions' }, { name: 'bounceRate' }, { name: 'averageSessionDuration' }], limit: '3' },
      { contentType: 'text/plain' },
    );
    expect(status).toBe(200);
    expect(Object.keys(json)).toEqual(['dimensionHeaders', 'metricHeaders', 'rows', 'rowCount', 'metadata', 'kind']);
    expect(json.metricHeaders).toEqual([
      { name: 'sessions', type: 'TYPE_INTEGER' },
      { name: 'bounceRate', type: 'TYPE_FLOAT' },
      { name: 'averageSessionDuration', type: 'TYPE_SECONDS' },
    ]);
    expect(json.rows).toHaveLength(3);
    const truth = groundTruth(fx, {
      tenantId: 't1',
      propertyId: '123',
      start: '2024-03-01',
      end: '2024-03-07',
      eventKey: (e) => e.local_date.replace(/-/g, ''),
      sessionKey: (s) => s.local_date.replace(/-/g, ''),
    });
    for (const row of json.rows) {
      expect(row.metricValues[0].value).toBe(String(truth.get(row.dimensionValues[0].value)!.sessions));
      expect(typeof row.metricValues[1].value).toBe('string');
    }
    expect(json.rowCount).toBe([...truth.values()].filter((t) => t.sessions > 0 || t.bounceRate > 0 || t.averageSessionDuration > 0).length);
    expect(text).toContain('"rowCount":');
    expect(json.metadata).toEqual({ currencyCode: 'USD', timeZone: 'UTC' });
    expect(json.kind).toBe('analyticsData#runReport');
  });

  it('speaks integer enums under $alt=json;enum-encoding=int (plain or percent-encoded), and takes them in the body', async () => {
    const body = {
      ...week,
      dimensions: [{ name: 'pagePath' }],
      metrics: [{ name: 'sessions' }, { name: 'engagementRate' }, { name: 'userEngagementDuration' }],
      metricAggregations: [1],
      dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { matchType: 2, value: '/' } } },
      orderBys: [{ dimension: { dimensionName: 'pagePath', orderType: 1 } }],
    };
    for (const qs of ['?$alt=json;enum-encoding=int', '?%24alt=json%3Benum-encoding%3Dint&prettyPrint=false']) {
      const { status, json } = await post(`/v1beta/properties/123:runReport${qs}`, body);
      expect(status).toBe(200);
      expect(json.metricHeaders.map((h: { type: unknown }) => h.type)).toEqual([1, 2, 4]);
      expect(json.totals[0].dimensionValues).toEqual([{ value: 'RESERVED_TOTAL' }]);
    }
    const named = await post('/v1beta/properties/123:runReport?$alt=json', body);
    expect(named.json.metricHeaders.map((h: { type: unknown }) => h.type)).toEqual(['TYPE_INTEGER', 'TYPE_FLOAT', 'TYPE_SECONDS']);
  });

  it('resolves relative dates in the property time zone and reports the property quota', async () => {
    const relative = await post('/v1beta/properties/123:runReport', {
      dateRanges: [{ startDate: '7daysAgo', endDate: 'yesterday' }],
      metrics: [{ name: 'eventCount' }],
      returnPropertyQuota: true,
    });
    const explicit = await post('/v1beta/properties/123:runReport', {
      dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }],
      metrics: [{ name: 'eventCount' }],
    });
    expect(relative.json.rows).toEqual(explicit.json.rows);
    const q = relative.json.propertyQuota;
    expect(Object.keys(relative.json).slice(-2)).toEqual(['propertyQuota', 'kind']);
    expect(q.tokensPerDay.consumed).toBeGreaterThanOrEqual(1);
    expect(q.tokensPerDay.remaining).toBe(200_000 - q.tokensPerDay.consumed);
    expect(Object.keys(q).sort()).toEqual([
      'concurrentRequests',
      'potentiallyThresholdedRequestsPerHour',
      'serverErrorsPerProjectPerHour',
      'tokensPerDay',
      'tokensPerHour',
      'tokensPerProjectPerHour',
    ]);
  });

  it.each([
    ['an unknown field', { ...week, metrics: [{ name: 'sessions' }], dimension: [] }, 'Unknown name "dimension"'],
    ['an unknown dimension', { ...week, metrics: [{ name: 'sessions' }], dimensions: [{ name: 'pagepath' }] }, 'Field pagepath is not a valid dimension.'],
    ['an unknown metric', { ...week, metrics: [{ name: 'users' }] }, 'Field users is not a valid metric.'],
    ['a bad enum', { ...week, metrics: [{ name: 'sessions' }], metricAggregations: ['SUM'] }, "Invalid value at 'metric_aggregations[0]'"],
    ['a mismatched property', { ...week, metrics: [{ name: 'sessions' }], property: 'properties/999' }, 'does not match the request path'],
  ])('refuses %s: 400 INVALID_ARGUMENT', async (_, body, message) => {
    const { status, json } = await post('/v1beta/properties/123:runReport', body);
    expect(status).toBe(400);
    expect(json.error.code).toBe(400);
    expect(json.error.status).toBe('INVALID_ARGUMENT');
    expect(json.error.message).toContain(message);
  });

  it('refuses malformed JSON with 400', async () => {
    const { status, json } = await post('/v1beta/properties/123:runReport', null, { raw: '{"metrics": [' });
    expect(status).toBe(400);
    expect(json.error.status).toBe('INVALID_ARGUMENT');
    expect(json.error.message).toMatch(/^Invalid JSON payload received/);
  });

  it.each([
    ['no credentials', null, '123', 401, 'UNAUTHENTICATED'],
    ['a bad credential', 'nope', '123', 401, 'UNAUTHENTICATED'],
    ['a key without access', 'k-other', '123', 403, 'PERMISSION_DENIED'],
    ['an unknown property', 'k-read', '404', 404, 'NOT_FOUND'],
    ['quota', 'k-throttled', '123', 429, 'RESOURCE_EXHAUSTED'],
    ['a transient failure', 'k-down', '123', 503, 'UNAVAILABLE'],
  ])('maps %s to Google’s error shape', async (_, token, property, code, statusName) => {
    const { status, json, headers } = await post(`/v1beta/properties/${property}:runReport`, { ...week, metrics: [{ name: 'sessions' }] }, { token });
    expect(status).toBe(code);
    expect(Object.keys(json)).toEqual(['error']);
    expect(json.error).toMatchObject({ code, status: statusName });
    expect(typeof json.error.message).toBe('string');
    if (code === 429) expect(headers.get('retry-after')).toBe('2');
  });

  it('masks unexpected errors as 500 INTERNAL and logs them', async () => {
    const { status, json } = await post('/v1beta/properties/123:runReport', { ...week, metrics: [{ name: 'sessions' }] }, { token: 'k-boom' });
    expect(status).toBe(500);
    expect(json).toEqual({ error: { code: 500, message: 'Internal error encountered.', status: 'INTERNAL' } });
    expect(String(logged.at(-1))).toContain('hunter2');
  });

  it('leaves other methods, and their unread bodies, to other routers', async () => {
    const { status, json } = await post('/v1beta/properties/123:runAccessReport', { metrics: [{ name: 'activeUsers' }] });
    expect(status).toBe(418);
    expect(json).toEqual({ echoed: { metrics: [{ name: 'activeUsers' }] } });
  });
});

describe('batchRunReports and checkCompatibility', () => {
  it('runs up to five reports', async () => {
    const one = { ...week, metrics: [{ name: 'totalUsers' }] };
    const { status, json } = await post('/v1beta/properties/123:batchRunReports', {
      requests: [one, { ...one, property: 'properties/123', dimensions: [{ name: 'deviceCategory' }] }],
    });
    expect(status).toBe(200);
    expect(json.kind).toBe('analyticsData#batchRunReports');
    expect(json.reports).toHaveLength(2);
    expect(json.reports[1].dimensionHeaders).toEqual([{ name: 'deviceCategory' }]);
    const six = await post('/v1beta/properties/123:batchRunReports', { requests: Array(6).fill(one) });
    expect(six.status).toBe(400);
  });

  it('reports every catalog field compatible, and refuses unknown names', async () => {
    const { json } = await post('/v1beta/properties/123:checkCompatibility?$alt=json;enum-encoding=int', {
      dimensions: [{ name: 'pagePath' }],
      metrics: [{ name: 'sessions' }],
    });
    expect(json.dimensionCompatibilities).toHaveLength(DIMENSIONS.length);
    expect(json.metricCompatibilities[0].compatibility).toBe(1);
    const bad = await post('/v1beta/properties/123:checkCompatibility', { metrics: [{ name: 'nope' }] });
    expect(bad.json.error.status).toBe('INVALID_ARGUMENT');
  });

  it('reads snake_case field names on every method, as runReport does (proto3 JSON)', async () => {
    const filter = { filter: { field_name: 'deviceCategory', string_filter: { value: 'desktop' } } };
    const run = await post('/v1beta/properties/123:runReport', {
      date_ranges: [{ start_date: '2024-03-01', end_date: '2024-03-07' }],
      metrics: [{ name: 'sessions' }],
      dimension_filter: filter,
    });
    expect(run.status).toBe(200);
    const compat = await post('/v1beta/properties/123:checkCompatibility', {
      dimensions: [{ name: 'pagePath' }],
      dimension_filter: filter,
      compatibility_filter: 'COMPATIBLE',
    });
    expect(compat.status).toBe(200);
    expect(compat.json.metricCompatibilities).toHaveLength(METRICS.length);
    const unknown = await post('/v1beta/properties/123:checkCompatibility', { dimension: [] });
    expect(unknown.status).toBe(400);
    expect(unknown.json.error.message).toContain('Unknown name "dimension"');
    // a list where a list belongs, else a 400 (was a TypeError answered 500)
    const notList = await post('/v1beta/properties/123:checkCompatibility', { metrics: { name: 'sessions' } });
    expect(notList.status).toBe(400);
  });
});

describe('GET /v1beta/properties/{id}/metadata', () => {
  it('lists the catalog in GA4 metadata shape', async () => {
    const res = await fetch(`${base}/v1beta/properties/123/metadata`, { headers: { authorization: 'Bearer k-read' } });
    expect(res.status).toBe(200);
    const json = (await res.json()) as any;
    expect(json.name).toBe('properties/123/metadata');
    expect(json.dimensions).toHaveLength(DIMENSIONS.length);
    expect(json.metrics).toHaveLength(METRICS.length);
    expect(json.dimensions.find((d: { apiName: string }) => d.apiName === 'eventName')).toEqual({
      apiName: 'eventName',
      uiName: 'Event name',
      description: 'The name of the event.',
      deprecatedApiNames: [],
      customDefinition: false,
      category: 'Event',
    });
    const keyEvents = json.metrics.find((m: { apiName: string }) => m.apiName === 'keyEvents');
    expect(keyEvents.deprecatedApiNames).toEqual(['conversions']);
    const rate = json.metrics.find((m: { apiName: string }) => m.apiName === 'engagementRate');
    expect(rate).toMatchObject({ type: 'TYPE_FLOAT', expression: 'engagedSessions/sessions', blockedReasons: [], customDefinition: false });

    const asInt: any = await (
      await fetch(`${base}/v1beta/properties/123/metadata?$alt=json;enum-encoding=int`, { headers: { authorization: 'Bearer k-read' } })
    ).json();
    expect(asInt.metrics.find((m: { apiName: string }) => m.apiName === 'sessions').type).toBe(1);

    const denied = await fetch(`${base}/v1beta/properties/123/metadata`);
    expect(denied.status).toBe(401);
    expect(((await denied.json()) as any).error.status).toBe('UNAUTHENTICATED');
  });
});

describe('limits and hardening (issue 9 §4, §5)', () => {
  let server2: Server;
  let base2: string;
  let regex: DuckDbRe2Syntax;
  const logged2: unknown[] = [];
  let clock = Date.parse('2024-03-08T12:00:00Z');

  beforeAll(async () => {
    regex = new DuckDbRe2Syntax();
    const app = express();
    app.use(
      createReportRouter({
        warehouse: wh,
        authorize: async (token, propertyId) => {
          if (token === 'k-slow') return settings;
          return authorize(token, propertyId);
        },
        logError: (e) => logged2.push(e),
        regexSyntax: regex,
        counters: new MemoryCounters(() => clock),
        limits: { requestsPerKeyPerMinute: 3 },
        now: () => new Date('2024-03-08T12:00:00Z'),
      }),
    );
    app.use(createApiFallbackRouter({ logError: (e) => logged2.push(e) }));
    ({ server: server2, base: base2 } = await listenOnLoopback(app));
  });

  afterAll(async () => {
    await new Promise((r) => server2?.close(r));
    await regex?.close();
  });

  async function post2(path: string, body: unknown, token = 'k-read') {
    const res = await fetch(base2 + path, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: text.startsWith('{') ? JSON.parse(text) : undefined };
  }

  const regexFilter = (value: string) => ({ filter: { fieldName: 'pagePath', stringFilter: { matchType: 'FULL_REGEXP', value } } });

  it('answers 400 INVALID_ARGUMENT (never 500) for the inputs that crashed it, and logs nothing', async () => {
    const bodies = [
      { ...week, metrics: [{ name: 'sessions' }], dateRanges: [{ startDate: '800000daysAgo', endDate: 'today' }] },
      { ...week, metrics: [{ name: 'sessions' }], dimensionFilter: regexFilter('(?=a)x') },
      { ...week, metrics: [{ name: 'sessions' }], dimensionFilter: regexFilter('(?<!a)b') },
      { ...week, metrics: [{ name: 'sessions' }], dimensionFilter: regexFilter('a{1001}') },
    ];
    clock += 60_000;
    for (const [i, body] of bodies.entries()) {
      if (i === 3) clock += 60_000; // three per minute
      const { status, json } = await post2('/v1beta/properties/123:runReport', body);
      expect(status).toBe(400);
      expect(json.error.status).toBe('INVALID_ARGUMENT');
    }
    expect(logged2).toEqual([]);
  });

  it('limits report requests per key per minute: 429 RESOURCE_EXHAUSTED with Retry-After; another key is not affected', async () => {
    clock += 60_000;
    const ok = { ...week, metrics: [{ name: 'sessions' }] };
    for (let i = 0; i < 3; i++) expect((await post2('/v1beta/properties/123:runReport', ok)).status).toBe(200);
    const refused = await post2('/v1beta/properties/123:runReport', ok);
    expect(refused.status).toBe(429);
    expect(refused.json.error.status).toBe('RESOURCE_EXHAUSTED');
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await post2('/v1beta/properties/123:runReport', ok, 'k-slow')).status).toBe(200);
    clock += 60_000;
    expect((await post2('/v1beta/properties/123:runReport', ok)).status).toBe(200);
  });

  it('answers unknown routes with Google-shaped JSON 404 and unimplemented GA4 methods with 501, never HTML', async () => {
    clock += 60_000;
    const unknown = await post2('/v1beta/properties/123:doSomething', {});
    expect(unknown.status).toBe(404);
    expect(unknown.json).toEqual({ error: { code: 404, message: expect.any(String), status: 'NOT_FOUND' } });
    const get = await fetch(`${base2}/nothing/here`);
    expect(get.status).toBe(404);
    expect(get.headers.get('content-type')).toContain('application/json');
    expect(((await get.json()) as any).error.status).toBe('NOT_FOUND');
    const pivot = await post2('/v1beta/properties/123:runAccessReport', {});
    expect(pivot.status).toBe(501);
    expect(pivot.json.error.status).toBe('UNIMPLEMENTED');
    expect(logged2.some((e) => e instanceof TallyError && e.code === 'unimplemented')).toBe(true);
  });
});

describe('report deadline', () => {
  it('cancels a report past its deadline with 504 DEADLINE_EXCEEDED, logged, and the warehouse keeps answering', async () => {
    const errors: unknown[] = [];
    const app = express();
    app.use(
      createReportRouter({ warehouse: wh, authorize, logError: (e) => errors.push(e), limits: { timeoutMs: 1 }, now: () => new Date('2024-03-08T12:00:00Z') }),
    );
    const { server: srv, base: srvBase } = await listenOnLoopback(app);
    try {
      const heavy = {
        ...week,
        dimensions: [{ name: 'pagePath' }, { name: 'city' }, { name: 'browser' }],
        metrics: [{ name: 'totalUsers' }, { name: 'newUsers' }, { name: 'sessions' }],
        metricAggregations: ['TOTAL'],
      };
      const res = await fetch(`${srvBase}/v1beta/properties/123:runReport`, {
        method: 'POST',
        headers: { authorization: 'Bearer k-read' },
        body: JSON.stringify(heavy),
      });
      expect(res.status).toBe(504);
      expect(((await res.json()) as any).error.status).toBe('DEADLINE_EXCEEDED');
      expect(errors).toHaveLength(1);
      expect((errors[0] as TallyError).code).toBe('deadline_exceeded');
      expect(await wh.query('SELECT 1 AS one', [])).toEqual([{ one: 1 }]);
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });
});
