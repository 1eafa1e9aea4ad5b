import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PropertySettings } from '../domain/property-settings.js';
import { TallyError } from '../infra/errors.js';
import { MemoryCounters } from '../infra/counters/memory.counters.js';
import { DuckDbRe2Syntax } from '../infra/regex/re2-syntax.js';
import { DuckDbWarehouse } from '../infra/warehouse/duckdb.warehouse.js';
import { generateProperty, loadPartitions, mergeFixtures, writeParquetPartitions } from './report-fixture.testkit.js';
import { REQUEST_LIMITS } from './report-request.limits.js';
import { createReportRouter } from './report.router.js';

/**
 * Issue 9 §4: one tenant's reports cannot stall another's. Tenant A (key k-heavy, property 1)
 * sends six of the heaviest reports the API accepts at once; tenant B (k-light, property 2)
 * meanwhile asks for a one-metric report, again and again. Before the fair queue and the reader
 * connections, B's report waited behind all six (7 s measured on the issue's machine).
 */
const base = { timeZone: 'UTC', currencyCode: 'USD', sessionTimeoutMinutes: 30, engagedSessionSeconds: 10, keyEvents: ['purchase'] };
const heavyTenant: PropertySettings = { ...base, tenantId: 'tA', propertyId: '1' };
const lightTenant: PropertySettings = { ...base, tenantId: 'tB', propertyId: '2' };

let dir: string;
let wh: DuckDbWarehouse;
let regex: DuckDbRe2Syntax;
let server: Server;
let url: string;

async function authorize(token: string | null, propertyId: string): Promise<PropertySettings> {
  const s = token === 'k-heavy' ? heavyTenant : token === 'k-light' ? lightTenant : null;
  if (!s) throw new TallyError('unauthenticated', 'unknown key');
  if (s.propertyId !== propertyId) throw new TallyError('permission_denied', 'not yours');
  return s;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tally-isolation-'));
  const fx = mergeFixtures(generateProperty('tA', '1', 5, 400), generateProperty('tB', '2', 6, 40));
  wh = await DuckDbWarehouse.open({ path: ':memory:', resolve: (k) => join(dir, k) });
  await wh.init();
  await loadPartitions(wh, await writeParquetPartitions(fx, dir));
  regex = new DuckDbRe2Syntax();
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
  await new Promise<void>((resolve) => {
    server = app.listen(0, '127.0.0.1', () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 60_000);

afterAll(async () => {
  await new Promise((r) => server?.close(r));
  await wh?.close();
  await regex?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function runReport(token: string, propertyId: string, body: unknown): Promise<{ status: number; json: any; ms: number }> {
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
function heavyReport(seed: number) {
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

const light = { dateRanges: week, metrics: [{ name: 'eventCount' }] };

describe('report isolation between tenants (embedded warehouse)', () => {
  it("six heavy reports of one tenant do not hold another tenant's one-metric report behind them", async () => {
    const alone = await runReport('k-light', '2', light);
    expect(alone.status).toBe(200);
    const expected = alone.json.rows[0].metricValues[0].value;

    let heavyDone = 0;
    const heavyStarted = performance.now();
    const heavy = Array.from({ length: 6 }, (_, i) =>
      runReport('k-heavy', '1', heavyReport(i)).then((r) => {
        heavyDone++;
        return r;
      }),
    );
    // let the six reach the warehouse before measuring
    await new Promise((r) => setTimeout(r, 150));
    const lightMs: number[] = [];
    while (heavyDone < 6 && lightMs.length < 400) {
      const r = await runReport('k-light', '2', light);
      expect(r.status).toBe(200);
      expect(r.json.rows[0].metricValues[0].value).toBe(expected);
      lightMs.push(r.ms);
    }
    const heavyResults = await Promise.all(heavy);
    const heavyMs = performance.now() - heavyStarted;
    // a heavy report finishes or meets its deadline (GA4's DEADLINE_EXCEEDED); nothing else
    for (const h of heavyResults) expect([200, 504]).toContain(h.status);
    lightMs.sort((a, b) => a - b);
    const p99 = lightMs[Math.max(0, Math.ceil(lightMs.length * 0.99) - 1)];
    console.log(
      `isolation: light alone ${Math.round(alone.ms)} ms; heavy ${heavyResults.map((h) => `${h.status} in ${Math.round(h.ms)} ms`).join(', ')}; ${lightMs.length} light reports during ${Math.round(heavyMs)} ms of six heavy ones: p50 ${Math.round(lightMs[Math.floor(lightMs.length / 2)])} ms, p99 ${Math.round(p99)} ms`,
    );
    // Queued behind the six, B's report would finish once, after them. With the fair queue it runs
    // again and again while they run, each time in a small part of their time. Ratios to the
    // heavy reports of the same run, not milliseconds: the absolute p99 is a benchmark's figure
    // (`npm run bench -- report`), which a loaded CI machine would make flaky here.
    expect(lightMs.length).toBeGreaterThanOrEqual(3);
    const p50 = lightMs[Math.floor(lightMs.length / 2)];
    expect(p50).toBeLessThan(heavyMs / 4);
  }, 120_000);
});
