import { expect } from 'vitest';
import type { ExpectedMetrics, ReportDimension } from '../../src/demo/ground-truth.js';

/** Every metric the ground truth knows, in the order they are requested. */
export const METRICS: (keyof ExpectedMetrics)[] = [
  'activeUsers',
  'totalUsers',
  'newUsers',
  'sessions',
  'engagedSessions',
  'engagementRate',
  'bounceRate',
  'averageSessionDuration',
  'screenPageViews',
  'screenPageViewsPerSession',
  'eventCount',
  'eventsPerSession',
  'userEngagementDuration',
  'keyEvents',
  'purchaseRevenue',
  'ecommercePurchases',
  'transactions',
  'averagePurchaseRevenue',
];

/** The breakdowns compared with the ground truth: its dimension name, and the report API's. */
export const GOLDEN_CASES: [ReportDimension | undefined, string | undefined][] = [
  [undefined, undefined],
  ['date', 'date'],
  ['pagePath', 'pagePath'],
  ['sessionSource', 'sessionSource'],
  ['country', 'countryId'],
  ['deviceCategory', 'deviceCategory'],
  ['sessionDefaultChannelGroup', 'sessionDefaultChannelGroup'],
];

/** A zone where it is now mid-day, so the two full days before today are all in the past and under 72 h old. */
export function zoneAtMidday(now: number): string {
  for (const tz of ['America/New_York', 'Europe/Berlin', 'Asia/Tokyo', 'America/Los_Angeles', 'Asia/Kolkata', 'UTC']) {
    const hour = Number(new Intl.DateTimeFormat('en-US', { timeZone: tz, hour: 'numeric', hourCycle: 'h23' }).format(now));
    if (hour >= 3 && hour < 21) return tz;
  }
  return 'UTC';
}

export interface ReportTarget {
  baseUrl: string;
  readKey: string;
  propertyId: string;
  startDate: string;
  endDate: string;
}

export async function runReport(t: Pick<ReportTarget, 'baseUrl' | 'readKey' | 'propertyId'>, body: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${t.baseUrl}/v1beta/properties/${t.propertyId}:runReport`, {
    method: 'POST',
    headers: { authorization: `Bearer ${t.readKey}` },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as any };
}

/** Every metric by one report dimension (none: one row keyed ''); two requests, as GA4 allows at most 10 metrics in one. */
export async function metricsBy(t: ReportTarget, apiDimension?: string): Promise<Map<string, Record<string, number>>> {
  const out = new Map<string, Record<string, number>>();
  // at most 10 metrics per request
  for (const metrics of [METRICS.slice(0, 9), METRICS.slice(9)]) {
    const { status, body } = await runReport(t, {
      dateRanges: [{ startDate: t.startDate, endDate: t.endDate }],
      dimensions: apiDimension ? [{ name: apiDimension }] : [],
      metrics: metrics.map((name) => ({ name })),
      limit: 100000,
    });
    expect(status, JSON.stringify(body)).toBe(200);
    for (const row of body.rows ?? []) {
      let key = apiDimension ? row.dimensionValues[0].value : '';
      if (apiDimension === 'date') key = `${key.slice(0, 4)}-${key.slice(4, 6)}-${key.slice(6)}`;
      const acc = out.get(key) ?? {};
      metrics.forEach((m, i) => (acc[m] = Number(row.metricValues[i].value)));
      out.set(key, acc);
    }
  }
  return out;
}

/** Integers exactly; ratios and durations to 1e-6 relative. */
export function expectSame(actual: Map<string, Record<string, number>>, expected: Map<string, ExpectedMetrics>, what: string): void {
  expect([...actual.keys()].sort(), what).toEqual([...expected.keys()].sort());
  for (const [k, e] of expected) {
    const a = actual.get(k)!;
    for (const m of METRICS) {
      const want = e[m];
      if (Number.isInteger(want) && !['averageSessionDuration', 'userEngagementDuration', 'purchaseRevenue', 'averagePurchaseRevenue'].includes(m))
        expect(a[m], `${what} ${k} ${m}`).toBe(want);
      else expect(Math.abs(a[m] - want), `${what} ${k} ${m}: ${a[m]} vs ${want}`).toBeLessThan(1e-6 * Math.max(1, Math.abs(want)));
    }
  }
}
