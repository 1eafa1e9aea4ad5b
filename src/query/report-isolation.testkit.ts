import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions } from './report-fixture.testkit.js';
import { REQUEST_LIMITS } from './report-request.limits.js';
import { createReportRouter } from './report.router.js';

/**
 * Issue 9 §4, shared by `report-isolation.test.ts` (the behaviour) and
 * `bench/report-isolation.bench.ts` (the figures): tenant A (key k-heavy, property 1) sends six of
 * the heaviest reports the API accepts at once; tenant B (k-light, property 2) meanwhile asks for
 * a one-metric report, again and again.
 */
const base = { timeZone: 'UTC', currencyCode: 'USD', sessionTimeoutMinutes: 30, engagedSessionSeconds: 10, keyEvents: ['purchase'] };
const heavyTenant: PropertySettings = { ...base, tenantId: 'tA', propertyId: '1' };
const lightTenant: PropertySettings = { ...base, tenantId: 'tB', propertyId: '2' };

async function authorize(token: string | null, propertyId: string): Promise<PropertySettings> {
  const s = token === 'k-heavy' ? heavyTenant : token === 'k-light' ? lightTenant : null;
  if (!s) throw new TallyError('unauthenticated', 'unknown key');
  if (s.propertyId !== propertyId) throw new TallyError('permission_denied', 'not yours');
  return s;
}

export interface IsolationServer {
  url: string;
  close(): Promise<void>;
}

/** The report API on an embedded warehouse holding both tenants (A: 400 visitors/day, B: 40). */
export async function startIsolationServer(): Promise<IsolationServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tally-isolation-'));
  const fx = mergeFixtures(generateProperty('tA', '1', 5, 400), generateProperty('tB', '2', 6, 40));
  const wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await wh.init();
  await loadPartitions(wh, await writeParquetPartitions(fx, dir));
  const regex = new DuckDbRe2Syntax();
  const app = express();
  app.use(
    createReportRouter({
      warehouse: wh,
      authorize,
      regexSyntax: regex,
      counters: new MemoryCounters(),
      limits: { timeoutMs: 5_000 },
      now: () => new Date('2024-03-08T12:00:00Z'),
    }),
  );
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      await new Promise((r) => server.close(r));
      await wh.close();
      await regex.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface ReportRun {
  status: number;
  json: any;
  ms: number;
}

export async function runReport(url: string, token: string, propertyId: string, body: unknown): Promise<ReportRun> {
  const t0 = performance.now();
  const res = await fetch(`${url}/v1beta/properties/${propertyId}:runReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  return { status: res.status, json, ms: performance.now() - t0 };
}

const week = [{ startDate: '2024-03-01', endDate: '2024-03-07' }];

/** As heavy as the request limits allow: 9 dimensions, 10 metrics, 2 ranges, every aggregation, the most filter terms (case-insensitive matches under NOT). */
export function heavyReport(seed: number) {
  const terms = REQUEST_LIMITS.filterTerms;
  const dims = ['pagePath', 'pageTitle', 'country', 'city', 'browser', 'operatingSystem', 'deviceCategory', 'sessionSource', 'eventName'];
  return {
    dateRanges: [...week, { startDate: '2024-02-01', endDate: '2024-03-07' }],
    dimensions: dims.map((name) => ({ name })),
    metrics: [
      'sessions',
      'totalUsers',
      'newUsers',
      'eventCount',
      'screenPageViews',
      'engagementRate',
      'bounceRate',
      'userEngagementDuration',
      'keyEvents',
      'activeUsers',
    ].map((name) => ({ name })),
    metricAggregations: ['TOTAL', 'MAXIMUM', 'MINIMUM'],
    dimensionFilter: {
      orGroup: {
        expressions: Array.from({ length: terms }, (_, i) => ({
          notExpression: {
            filter: {
              fieldName: dims[i % dims.length],
              stringFilter: { matchType: i % 2 ? 'CONTAINS' : 'ENDS_WITH', value: `x${seed}-${i}`, caseSensitive: false },
            },
          },
        })),
      },
    },
    orderBys: [{ dimension: { dimensionName: 'pagePath', orderType: 'CASE_INSENSITIVE_ALPHANUMERIC' } }],
  };
}

export const LIGHT_REPORT = { dateRanges: week, metrics: [{ name: 'eventCount' }] };

export interface IsolationRun {
  alone: ReportRun;
  heavy: ReportRun[];
  heavyMs: number;
  /** B's reports while A's six ran, sorted by duration. */
  light: ReportRun[];
}

/** B's report alone, then six of A's heavy reports at once with B's report repeated while they run. */
export async function measureIsolation(url: string): Promise<IsolationRun> {
  const alone = await runReport(url, 'k-light', '2', LIGHT_REPORT);
  let heavyDone = 0;
  const heavyStarted = performance.now();
  const heavy = Array.from({ length: 6 }, (_, i) =>
    runReport(url, 'k-heavy', '1', heavyReport(i)).then((r) => {
      heavyDone++;
      return r;
    }),
  );
  // let the six reach the warehouse before measuring
  await new Promise((r) => setTimeout(r, 150));
  const light: ReportRun[] = [];
  while (heavyDone < 6 && light.length < 400) light.push(await runReport(url, 'k-light', '2', LIGHT_REPORT));
  const heavyRuns = await Promise.all(heavy);
  const heavyMs = performance.now() - heavyStarted;
  light.sort((a, b) => a.ms - b.ms);
  return { alone, heavy: heavyRuns, heavyMs, light };
}

export function percentile(sortedMs: number[], p: number): number {
  return sortedMs[Math.max(0, Math.ceil(sortedMs.length * p) - 1)];
}
