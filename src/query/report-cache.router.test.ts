import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CustomDefinition } from '../domain/custom-definition.js';
import { customDefinition } from './custom-fields.testkit.js';
import { DEFAULT_PROPERTY_SETTINGS, type PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import type { Warehouse } from '../infra/warehouse/warehouse.port.js';
import { RealtimeWindow } from './realtime-window.js';
import { liveEvent } from './realtime.testkit.js';
import { ReportCache } from './report-cache.js';
import { generateProperty, loadPartitions, writeParquetPartitions } from './report-fixture.testkit.js';
import { createReportRouter } from './report.router.js';

/** The report result cache behind the HTTP API: quota, billing's read gate and notice, what makes it miss. */
const settings: PropertySettings = { ...DEFAULT_PROPERTY_SETTINGS, keyEvents: ['purchase'], tenantId: 't1', propertyId: '123' };
const week = { dateRanges: [{ startDate: '2024-03-01', endDate: '2024-03-07' }] };

let dir: string;
let wh: DuckDbWarehouse;

async function authorize(token: string | null, propertyId: string): Promise<PropertySettings> {
  if (token !== 'k-read' || propertyId !== '123') throw new TallyError('permission_denied', 'User does not have sufficient permissions for this property.');
  return settings;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-report-cache-'));
  wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await wh.init();
  await loadPartitions(wh, await writeParquetPartitions(generateProperty('t1', '123', 11, 20), dir));
});

afterAll(async () => {
  await wh?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('result cache', () => {
  it('answers a repeated report from the cache, charging the minimum quota, behind the read gate, until a reload or the "complete up to" mark moves', async () => {
    let statements = 0;
    let mark = new Date('2024-03-08T00:00:00Z');
    const counting = countingWarehouse(() => statements++);
    let loadVersion: string | null = '2024-03-08 00:00:00.000001+00';
    // billing's read gate as modules.ts wires it: inside authorize, before the cache is looked at
    let gated = false;
    let notice: string | null = null;
    const gatedAuthorize: typeof authorize = async (token, propertyId) => {
      const p = await authorize(token, propertyId);
      if (gated) throw new TallyError('permission_denied', 'Reports are paused: the payment failed.', { reason: 'billing_payment_failed' });
      return p;
    };
    const app = express();
    app.use(
      createReportRouter({
        warehouse: counting,
        authorize: gatedAuthorize,
        completeUpTo: async () => mark,
        loadVersion: async () => loadVersion,
        notice: async () => notice,
      }),
    );
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    try {
      const url = `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1beta/properties/123:runReport`;
      const body = {
        ...week,
        dimensions: [{ name: 'dateHour' }, { name: 'pagePath' }, { name: 'city' }],
        metrics: [{ name: 'eventCount' }],
        limit: 5000,
        returnPropertyQuota: true,
      };
      type Answer = {
        rows: unknown[];
        propertyQuota: { tokensPerDay: { consumed: number } };
        metadata: { tallyCompleteUpTo: string; tallyNotice?: string };
        error?: { status: string };
      };
      const ask = async () =>
        (await (await fetch(url, { method: 'POST', headers: { authorization: 'Bearer k-read' }, body: JSON.stringify(body) })).json()) as Answer;
      const first = await ask();
      const afterFirst = statements;
      expect(afterFirst).toBeGreaterThan(0);
      const second = await ask();
      expect(statements).toBe(afterFirst);
      expect(second.rows).toEqual(first.rows);
      expect(second.propertyQuota.tokensPerDay.consumed).toBe(1);
      // a billing notice is added to the answer, never to the cached rows: it goes when billing clears
      notice = "This month's included events are used up.";
      expect((await ask()).metadata.tallyNotice).toBe(notice);
      notice = null;
      expect((await ask()).metadata.tallyNotice).toBeUndefined();
      expect(statements).toBe(afterFirst);
      // a gated organisation gets the gate's 403, not the cached answer
      gated = true;
      expect((await ask()).error?.status).toBe('PERMISSION_DENIED');
      gated = false;
      expect(statements).toBe(afterFirst);
      // a partition reload (a replay) that leaves the mark where it was: every statement runs again
      loadVersion = '2024-03-08 00:05:00.000001+00';
      const reloaded = await ask();
      const afterReload = statements;
      expect(afterReload).toBeGreaterThan(afterFirst);
      expect(reloaded.rows).toEqual(first.rows);
      expect(reloaded.propertyQuota.tokensPerDay.consumed).toBe(first.propertyQuota.tokensPerDay.consumed);
      mark = new Date('2024-03-08T00:10:00Z');
      const third = await ask();
      expect(statements).toBeGreaterThan(afterReload);
      expect(third.metadata.tallyCompleteUpTo).toBe('2024-03-08T00:10:00.000Z');
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});

describe('result cache and the GA4 methods', () => {
  it('keys comparisons and pivots by their own statements, and never serves or keeps a realtime answer', async () => {
    let statements = 0;
    const counting = countingWarehouse(() => statements++);
    const cache = new ReportCache();
    const window = new RealtimeWindow();
    const app = express();
    app.use(createReportRouter({ warehouse: counting, authorize, cache, realtime: window, completeUpTo: async () => new Date('2024-03-08T00:00:00Z') }));
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    const post = async (method: string, body: unknown) =>
      (await (
        await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/v1beta/properties/123:${method}`, {
          method: 'POST',
          headers: { authorization: 'Bearer k-read' },
          body: JSON.stringify(body),
        })
      ).json()) as { rows?: { dimensionValues: { value: string }[]; metricValues: { value: string }[] }[]; error?: unknown };
    try {
      const device = (value: string) => ({ filter: { fieldName: 'deviceCategory', stringFilter: { value } } });
      const compare = (value: string) => ({
        ...week,
        dimensions: [{ name: 'eventName' }],
        metrics: [{ name: 'eventCount' }],
        comparisons: [{ name: value, dimensionFilter: device(value) }],
      });
      const mobile = await post('runReport', compare('mobile'));
      const afterMobile = statements;
      const desktop = await post('runReport', compare('desktop'));
      // another comparison is another statement: it runs, and answers its own rows
      expect(statements).toBeGreaterThan(afterMobile);
      expect(desktop.rows).not.toEqual(mobile.rows);
      expect(desktop.rows!.every((r) => r.dimensionValues.some((v) => v.value === 'desktop'))).toBe(true);
      const afterDesktop = statements;
      expect(await post('runReport', compare('mobile'))).toEqual(mobile);
      expect(statements).toBe(afterDesktop);

      const pivot = {
        ...week,
        dimensions: [{ name: 'eventName' }, { name: 'deviceCategory' }],
        metrics: [{ name: 'eventCount' }],
        pivots: [
          { fieldNames: ['eventName'], limit: '3' },
          { fieldNames: ['deviceCategory'], limit: '10' },
        ],
      };
      const first = await post('runPivotReport', pivot);
      expect(first.error).toBeUndefined();
      const afterPivot = statements;
      expect(afterPivot).toBeGreaterThan(afterDesktop);
      expect(await post('runPivotReport', pivot)).toEqual(first);
      expect(statements).toBe(afterPivot);
      // a pivot's limits shape the cached cells after the cache: the same statements, its own answer
      const headers = (r: unknown) => (r as { pivotHeaders: { pivotDimensionHeaders: unknown[] }[] }).pivotHeaders[0].pivotDimensionHeaders.length;
      const two = await post('runPivotReport', {
        ...pivot,
        pivots: [
          { fieldNames: ['eventName'], limit: '2' },
          { fieldNames: ['deviceCategory'], limit: '10' },
        ],
      });
      expect(statements).toBe(afterPivot);
      expect(headers(first)).toBe(3);
      expect(headers(two)).toBe(2);

      // realtime reads the live window: each answer sees the events since the last, nothing is cached
      const kept = cache.size;
      const live = (n: number) => {
        for (let i = 0; i < n; i++) window.add(liveEvent({ property_id: '123' }));
      };
      const realtime = () => post('runRealtimeReport', { metrics: [{ name: 'eventCount' }] });
      live(2);
      expect((await realtime()).rows?.[0].metricValues[0].value).toBe('2');
      live(3);
      expect((await realtime()).rows?.[0].metricValues[0].value).toBe('5');
      expect(cache.size).toBe(kept);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});

describe('result cache and custom definitions', () => {
  it('answers a definition made a moment ago and refuses an archived one at once, cached answer or not; metadata and checkCompatibility follow', async () => {
    let statements = 0;
    const definition = customDefinition({ propertyId: '123' });
    let definitions: CustomDefinition[] = [];
    const app = express();
    app.use(
      createReportRouter({
        warehouse: countingWarehouse(() => statements++),
        authorize,
        completeUpTo: async () => new Date('2024-03-08T00:00:00Z'),
        loadVersion: async () => 'v1',
        customDefinitions: async () => definitions,
      }),
    );
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    try {
      const base = `http://127.0.0.1:${(s.address() as AddressInfo).port}/v1beta/properties/123`;
      const post = async (method: string, body: unknown) =>
        (await fetch(`${base}:${method}`, { method: 'POST', headers: { authorization: 'Bearer k-read' }, body: JSON.stringify(body) })).json() as Promise<{
          rows?: { dimensionValues: { value: string }[] }[];
          error?: { status: string; message: string };
          dimensionCompatibilities?: { dimensionMetadata: { apiName: string } }[];
        }>;
      const metadata = async () =>
        (
          (await (await fetch(`${base}/metadata`, { headers: { authorization: 'Bearer k-read' } })).json()) as { dimensions: { apiName: string }[] }
        ).dimensions.map((d) => d.apiName);
      const body = { ...week, dimensions: [{ name: 'customEvent:color' }], metrics: [{ name: 'eventCount' }] };
      const compat = { dimensions: [{ name: 'customEvent:color' }], metrics: [{ name: 'eventCount' }] };
      // not defined: GA4's unknown-field error, before any statement
      expect((await post('runReport', body)).error?.message).toMatch(/customEvent:color/);
      expect((await post('checkCompatibility', compat)).error?.status).toBe('INVALID_ARGUMENT');
      expect(await metadata()).not.toContain('customEvent:color');
      expect(statements).toBe(0);
      // defined: answered at once (the fixture's events carry no such parameter: one "(not set)" row)
      definitions = [definition];
      const answered = await post('runReport', body);
      expect(answered.rows?.map((r) => r.dimensionValues[0].value)).toEqual(['(not set)']);
      expect(await metadata()).toContain('customEvent:color');
      expect((await post('checkCompatibility', compat)).dimensionCompatibilities?.map((d) => d.dimensionMetadata.apiName)).toContain('customEvent:color');
      const ran = statements;
      expect((await post('runReport', body)).rows).toEqual(answered.rows);
      expect(statements).toBe(ran);
      // archived: refused although the answer is in the cache
      definitions = [{ ...definition, archived: true }];
      expect((await post('runReport', body)).error?.message).toMatch(/customEvent:color/);
      expect(await metadata()).not.toContain('customEvent:color');
      expect((await post('checkCompatibility', compat)).error?.status).toBe('INVALID_ARGUMENT');
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});

describe('result cache: funnels and currency rates', () => {
  it('answers a repeated funnel from the cache until a reload, and a rates refresh makes revenue answers (only those) miss', async () => {
    let statements = 0;
    let loadVersion = '2024-03-08 00:00:00.000001+00';
    let rates: string | null = null;
    const app = express();
    app.use(
      createReportRouter({
        warehouse: countingWarehouse(() => statements++),
        authorize,
        completeUpTo: async () => new Date('2024-03-08T00:00:00Z'),
        loadVersion: async () => loadVersion,
        ratesVersion: async () => rates,
      }),
    );
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    type Answer = { rows?: unknown[]; funnelTable?: { rows?: unknown[] }; propertyQuota: { tokensPerDay: { consumed: number } } };
    const post = async (path: string, body: object) =>
      (await (
        await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/${path}`, {
          method: 'POST',
          headers: { authorization: 'Bearer k-read' },
          body: JSON.stringify({ ...body, returnPropertyQuota: true }),
        })
      ).json()) as Answer;
    const step = (eventName: string) => ({ name: eventName, filterExpression: { funnelEventFilter: { eventName } } });
    const funnel = () => post('v1alpha/properties/123:runFunnelReport', { ...week, funnel: { steps: [step('page_view'), step('purchase')] } });
    const revenue = () => post('v1beta/properties/123:runReport', { ...week, dimensions: [{ name: 'date' }], metrics: [{ name: 'purchaseRevenue' }] });
    const events = () => post('v1beta/properties/123:runReport', { ...week, dimensions: [{ name: 'date' }], metrics: [{ name: 'eventCount' }] });
    try {
      const first = await funnel();
      expect(first.funnelTable?.rows?.length).toBeGreaterThan(0);
      const afterFirst = statements;
      const second = await funnel();
      expect(statements).toBe(afterFirst);
      expect(second.funnelTable).toEqual(first.funnelTable);
      expect(second.propertyQuota.tokensPerDay.consumed).toBe(1);
      loadVersion = '2024-03-08 00:05:00.000001+00';
      expect((await funnel()).funnelTable).toEqual(first.funnelTable);
      expect(statements).toBeGreaterThan(afterFirst);

      // cohorts too: the same statement under the same load version is read once
      const cohort = () =>
        post('v1beta/properties/123:runReport', {
          dimensions: [{ name: 'cohort' }, { name: 'cohortNthDay' }],
          metrics: [{ name: 'cohortActiveUsers' }],
          cohortSpec: {
            cohorts: [{ name: 'c0', dimension: 'firstSessionDate', dateRange: { startDate: '2024-03-01', endDate: '2024-03-02' } }],
            cohortsRange: { granularity: 'DAILY', startOffset: 0, endOffset: 3 },
          },
        });
      const c1 = await cohort();
      expect(c1.rows?.length).toBeGreaterThan(0);
      const afterCohort = statements;
      const c2 = await cohort();
      expect(statements).toBe(afterCohort);
      expect(c2.rows).toEqual(c1.rows);
      expect(c2.propertyQuota.tokensPerDay.consumed).toBe(1);

      const [r1, e1] = [await revenue(), await events()];
      const warmed = statements;
      await revenue();
      await events();
      expect(statements).toBe(warmed);
      // the fx-rates job replaced the rates: revenue is read again, event counts stay cached
      rates = '2024-03-08 06:00:00.000001+00';
      const r2 = await revenue();
      const afterRevenue = statements;
      expect(afterRevenue).toBeGreaterThan(warmed);
      expect(r2.rows).toEqual(r1.rows);
      expect((await events()).rows).toEqual(e1.rows);
      expect(statements).toBe(afterRevenue);
    } finally {
      await new Promise((r) => s.close(r));
    }
  });
});

/** The test warehouse, counting the statements that reach it (a cached answer sends none). */
function countingWarehouse(onQuery: () => void): Warehouse {
  return {
    dialect: wh.dialect,
    rollups: true,
    init: () => wh.init(),
    loadPartition: (t, p, k) => wh.loadPartition(t, p, k),
    replaceRates: (rows) => wh.replaceRates(rows),
    close: async () => undefined,
    query: (sql, params, opts) => (onQuery(), wh.query(sql, params, opts)),
  };
}
