import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTenantCli, eventually, readZone, startTally, type TallyProcess, type TenantKeys } from '../support/tally-process.js';

const CHROME = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36';

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { requestBody?: unknown; responses: Record<string, { content?: Record<string, unknown> }> }>>;
};

/**
 * Live answers of `tally serve` against its own /openapi.json: each request's status must be
 * documented for its path and method, its body must match the documented schema (JSON Schema
 * 2020-12, as OpenAPI 3.1 uses), and so must the body we sent.
 */
describe('/openapi.json describes what the routes really answer', () => {
  let tally: TallyProcess;
  let t: TenantKeys;
  let doc: Doc;
  let adminToken: string;
  // operator routes are served on the loopback admin listener the server records in server.json
  let adminBase: string;
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const checked: string[] = [];

  const pointer = (...segments: string[]) => 'openapi.json#/' + segments.map((s) => encodeURIComponent(s.replace(/~/g, '~0').replace(/\//g, '~1'))).join('/');
  const validate = (ref: string, value: unknown, what: string, valid = true) => {
    const v = ajv.getSchema(ref);
    expect(v, `no schema at ${ref}`).toBeDefined();
    expect(v!(value), `${what}: ${JSON.stringify(v!.errors)}\n${JSON.stringify(value).slice(0, 500)}`).toBe(valid);
  };

  /**
   * Sends the request, checks its body against the request schema (a body sent to provoke a 400 must
   * fail it) and the answer against the response's.
   */
  const call = async (
    method: 'get' | 'post',
    template: string,
    url: string,
    init: { body?: unknown; headers?: Record<string, string>; invalid?: boolean } = {},
    type = 'application/json',
  ) => {
    const op = doc.paths[template]?.[method];
    expect(op, `${method} ${template} is not documented`).toBeDefined();
    if (init.body !== undefined && op!.requestBody)
      validate(
        pointer('paths', template, method, 'requestBody', 'content', 'application/json', 'schema'),
        init.body,
        `request ${method} ${template}`,
        !init.invalid,
      );
    const res = await fetch(`${url.startsWith('/internal/') ? adminBase : tally.baseUrl}${url}`, {
      method: method.toUpperCase(),
      headers: init.headers,
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const status = String(res.status);
    const response = op!.responses[status];
    expect(response, `${method} ${template} answered ${status}, which is not documented`).toBeDefined();
    const text = await res.text();
    if (response.content?.[type] !== undefined) {
      const schema = pointer('paths', template, method, 'responses', status, 'content', type, 'schema');
      if (type === 'application/x-ndjson')
        for (const line of text.trim().split('\n')) validate(schema, JSON.parse(line), `${method} ${template} ${status} line`);
      else validate(schema, type === 'application/json' ? JSON.parse(text) : text, `${method} ${template} ${status}`);
    } else {
      expect(text === '' || !response.content, `${method} ${template} ${status} sent a body its documentation has no schema for`).toBe(true);
    }
    checked.push(`${method} ${template} ${status}`);
    return { status: res.status, text };
  };

  beforeAll(async () => {
    tally = await startTally({ env: { TALLY_TRANSFORM_INTERVAL_MS: '3600000', TALLY_ARCHIVE_MAX_WAIT_MS: '100' } });
    t = await createTenantCli(tally.dataDir, 'Documented');
    adminToken = fs.readFileSync(path.join(tally.dataDir, 'admin-token'), 'utf8').trim();
    adminBase = `http://127.0.0.1:${JSON.parse(fs.readFileSync(path.join(tally.dataDir, 'server.json'), 'utf8')).adminPort}`;
    doc = (await (await fetch(`${tally.baseUrl}/openapi.json`)).json()) as Doc;
    ajv.addSchema(doc, 'openapi.json');
  }, 120_000);
  afterAll(async () => {
    expect(await tally?.stop()).toBe(0);
  });

  it('is OpenAPI 3.1 with components for the shared schemas', () => {
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys((doc as unknown as { components: { schemas: object } }).components.schemas)).toEqual(
      expect.arrayContaining(['RunReportRequest', 'RunReportResponse', 'NativeBatch', 'Error', 'GoogleError', 'CreateTenantRequest', 'Readiness']),
    );
  });

  it('ingest routes: GA4 MP, its debug server, native batches, Segment, PostHog', async () => {
    const mp = { client_id: '1.2', events: [{ name: 'page_view', params: { page_location: 'https://documented.example.com/', engagement_time_msec: 1200 } }] };
    expect((await call('post', '/mp/collect', `/mp/collect?measurement_id=${t.measurementId}&api_secret=${t.apiSecret}`, { body: mp })).status).toBe(204);
    expect((await call('post', '/mp/collect', `/mp/collect?measurement_id=${t.measurementId}`, { body: mp })).status).toBe(401);
    expect((await call('post', '/debug/mp/collect', '/debug/mp/collect', { body: { client_id: '1', events: [{ name: '_bad' }] } })).status).toBe(200);
    const events = [1, 2, 3].map((i) => ({
      event_id: `d${i}`,
      name: 'page_view',
      client_id: 'c1',
      url: 'https://documented.example.com/a',
      user_agent: CHROME,
    }));
    expect((await call('post', '/v1/collect', '/v1/collect', { body: { events }, headers: { authorization: `Bearer ${t.ingestKey}` } })).status).toBe(200);
    const partly = await call('post', '/v1/collect', '/v1/collect', {
      body: {
        events: [
          { name: 'x', client_id: 'c2' },
          { name: 'y', client_id: 'c2', timestamp: 1 },
        ],
      },
      headers: { authorization: `Bearer ${t.ingestKey}` },
    });
    expect(JSON.parse(partly.text)).toMatchObject({ accepted: 1, rejected: 1 });
    expect((await call('post', '/v1/collect', '/v1/collect', { body: { events } })).status).toBe(401);
    expect(
      (await call('post', '/v1/collect', '/v1/collect', { body: { events: [] }, headers: { authorization: `Bearer ${t.ingestKey}` }, invalid: true })).status,
    ).toBe(400);
    const basic = `Basic ${Buffer.from(`${t.ingestKey}:`).toString('base64')}`;
    expect((await call('post', '/v1/track', '/v1/track', { body: { userId: 'u1', event: 'Signed Up' }, headers: { authorization: basic } })).status).toBe(200);
    expect((await call('post', '/capture', '/capture', { body: { api_key: t.ingestKey, event: 'signup', distinct_id: 'd1' } })).status).toBe(200);
    expect((await call('post', '/capture', '/capture', { body: { api_key: 'tk_ing_nope', event: 'signup', distinct_id: 'd1' } })).status).toBe(401);
  });

  it('operator routes: tenants and job runs', async () => {
    const admin = { authorization: `Bearer ${adminToken}` };
    expect(
      (
        await call('post', '/internal/v1/tenants', '/internal/v1/tenants', {
          body: { name: 'Second', email: 'second@example.com', domain: 'second.example.com', planId: 'growth' },
          headers: admin,
        })
      ).status,
    ).toBe(201);
    expect(
      (await call('post', '/internal/v1/tenants', '/internal/v1/tenants', { body: { name: 'X', email: 'x@example.com', domain: 'x.example.com' } })).status,
    ).toBe(401);
    const bad = await fetch(`${adminBase}/internal/v1/tenants`, { method: 'POST', headers: admin, body: JSON.stringify({ name: '', email: 'nope' }) });
    expect(bad.status).toBe(400);
    validate(pointer('paths', '/internal/v1/tenants', 'post', 'responses', '400', 'content', 'application/json', 'schema'), await bad.json(), 'invalid tenant');
    await eventually(() => (readZone(tally.dataDir, 'raw').length >= 5 ? true : undefined), 30_000, 'the archiver');
    expect(
      (
        await call(
          'post',
          '/internal/v1/jobs/run',
          '/internal/v1/jobs/run',
          { body: { name: 'pipeline', propertyId: t.propertyId }, headers: admin },
          'application/x-ndjson',
        )
      ).status,
    ).toBe(200);
  });

  it('report routes, with rows, quota and int enums, and their errors', async () => {
    const read = { authorization: `Bearer ${t.readKey}` };
    const base = `/v1beta/properties/${t.propertyId}`;
    const report = {
      dimensions: [{ name: 'pagePath' }, { name: 'date' }],
      metrics: [{ name: 'eventCount' }, { name: 'sessions' }, { name: 'perSession', expression: 'eventCount/sessions' }],
      dateRanges: [{ startDate: '2daysAgo', endDate: 'today' }],
      metricAggregations: ['TOTAL', 'MAXIMUM', 'MINIMUM'],
      orderBys: [{ desc: true, metric: { metricName: 'eventCount' } }],
      dimensionFilter: { filter: { fieldName: 'pagePath', stringFilter: { matchType: 'BEGINS_WITH', value: '/' } } },
      returnPropertyQuota: true,
    };
    const ok = await call('post', '/v1beta/properties/{propertyId}:runReport', `${base}:runReport`, { body: report, headers: read });
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.text);
    expect(body.rows?.length).toBeGreaterThan(0);
    // the schemas are closed: a field the document does not name fails them
    const schema = pointer('paths', '/v1beta/properties/{propertyId}:runReport', 'post', 'responses', '200', 'content', 'application/json', 'schema');
    validate(schema, { ...body, sampling: {} }, 'an undocumented field', false);
    validate(schema, { ...body, rows: [{ dimensionValues: [{ value: 1 }], metricValues: [] }] }, 'a number where GA4 has a string', false);
    expect(
      (await call('post', '/v1beta/properties/{propertyId}:runReport', `${base}:runReport?$alt=json;enum-encoding=int`, { body: report, headers: read }))
        .status,
    ).toBe(200);
    expect(
      (
        await call('post', '/v1beta/properties/{propertyId}:runReport', `${base}:runReport`, {
          body: { dateRanges: [{ startDate: 'today', endDate: 'today' }], metrics: [{ name: 'noSuchMetric' }] },
          headers: read,
        })
      ).status,
    ).toBe(400);
    expect((await call('post', '/v1beta/properties/{propertyId}:runReport', `${base}:runReport`, { body: report })).status).toBe(401);
    expect(
      (
        await call('post', '/v1beta/properties/{propertyId}:batchRunReports', `${base}:batchRunReports`, {
          body: { requests: [report, { dateRanges: [{ startDate: 'today', endDate: 'today' }], metrics: [{ name: 'activeUsers' }] }] },
          headers: read,
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('post', '/v1beta/properties/{propertyId}:checkCompatibility', `${base}:checkCompatibility`, {
          body: { dimensions: [{ name: 'country' }], metrics: [{ name: 'sessions' }] },
          headers: read,
        })
      ).status,
    ).toBe(200);
    expect((await call('get', '/v1beta/properties/{propertyId}/metadata', `${base}/metadata`, { headers: read })).status).toBe(200);
    expect((await call('get', '/v1beta/properties/{propertyId}/metadata', `${base}/metadata?$alt=json;enum-encoding=int`, { headers: read })).status).toBe(200);
  });

  it('operations routes', async () => {
    expect((await call('get', '/healthz', '/healthz')).status).toBe(200);
    expect((await call('get', '/readyz', '/readyz')).status).toBe(200);
    expect((await call('get', '/metrics', '/metrics', {}, 'text/plain')).status).toBe(200);
    expect(checked.length).toBeGreaterThanOrEqual(24);
  });
});
